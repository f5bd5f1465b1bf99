"""A dataset build drawn from a reservoir on S3 equals the same build from a local reservoir, and is
published to the bucket."""

from __future__ import annotations

from pathlib import Path

from tasks.core import pipeline
from tasks.core.build.assemble import build_dataset, list_builds
from tasks.core.build.outputs import verify
from tasks.core.config import BuildConfig
from tasks.core.storage import DataRoot
from tests.storage.conftest import LocalReference, S3Server


def test_a_build_from_an_s3_reservoir_equals_the_local_build(
    local_reference: LocalReference, s3_root: DataRoot, s3_server: S3Server, tmp_path: Path
) -> None:
    pipeline.curate_inbox(s3_root, local_reference.inbox)
    cfg = BuildConfig(size=200, seed=3, shard_rows=80, max_source_share=None)

    local = build_dataset(local_reference.root, "same", cfg, tmp_path / "local-build")
    folder = s3_root.path("datasets", "same")
    remote = build_dataset(s3_root, "same", cfg, folder)

    assert remote["reservoir_version"] == local["reservoir_version"]
    assert [s["sha256"] for s in remote["shards"]] == [s["sha256"] for s in local["shards"]]  # byte-identical
    assert verify(folder)["shards"] == len(local["shards"]) == 3

    # The finished folder is published under the data root, and the builds table points there.
    (recorded,) = list_builds(s3_root)
    where = recorded["out_dir"]
    assert where == f"{s3_root.home}/datasets/{remote['build_id']}"
    bucket, prefix = where.removeprefix("s3://").split("/", 1)
    listed = s3_server.client().list_objects_v2(Bucket=bucket, Prefix=prefix + "/")["Contents"]
    assert {o["Key"].removeprefix(prefix + "/") for o in listed} == {p.name for p in folder.iterdir()}
    (local_record,) = [b for b in list_builds(local_reference.root) if b["build_id"] == local["build_id"]]
    assert local_record["out_dir"] == str((tmp_path / "local-build").resolve())
