"""A whole nightly run with the data root on a real S3 server gives what a local run gives."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tasks.core import pipeline
from tasks.core.errors import ConfigError
from tasks.core.storage import STATE_DIR_ENV, DataRoot
from tests.storage.conftest import LocalReference, S3Server
from tests.storage.reference import fates, reservoir


def test_nightly_run_on_s3_equals_a_local_run(
    local_reference: LocalReference, s3_root: DataRoot, tmp_path: Path, s3_server: S3Server
) -> None:
    inbox, local = local_reference.inbox, local_reference.root
    (expected,) = [json.loads(s) for s in local.scan("runs").collect()["summary"]]

    summary = pipeline.curate_inbox(s3_root, inbox)

    for key in ("ingested", "quarantined", "admitted", "dropped", "quarantine_reasons"):
        assert summary[key] == expected[key], key
    assert summary["admitted"] and summary["dropped"]
    assert_frame_equal(reservoir(s3_root), reservoir(local))
    assert_frame_equal(fates(s3_root), fates(local))
    # Everything really is in the bucket, as Delta tables, and nothing was written locally but the state.
    keys = {o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_root.home.split("/")[2])["Contents"]}
    for table in ("raw", "quarantine", "ledger", "decisions", "scores", "signatures", "reservoir", "runs"):
        assert f"wellspring/{table}/_delta_log/00000000000000000000.json" in keys, table
    assert s3_root.path("models", "diversity").is_dir()
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["s3"]

    # A second run over the same inbox reads the ledger on S3 and changes nothing.
    again = pipeline.curate_inbox(s3_root, inbox)
    assert again["ingested"] == 0
    assert_frame_equal(reservoir(s3_root), reservoir(local))


def test_every_table_operation_on_s3(s3_root: DataRoot) -> None:
    rows = pl.DataFrame({"doc_id": ["a", "b"], "run_id": ["r1", "r1"]})
    assert s3_root.ref("signatures").version is None
    assert not s3_root.exists("signatures") and s3_root.scan("runs").collect().height == 0
    first = s3_root.insert_new("signatures", rows, key="doc_id")
    again = s3_root.insert_new("signatures", pl.DataFrame({"doc_id": ["b", "c"], "run_id": ["r2", "r2"]}), key="doc_id")
    assert again.version == first.version + 1  # type: ignore[operator]
    assert sorted(s3_root.scan("signatures").collect()["doc_id"]) == ["a", "b", "c"]
    assert sorted(s3_root.scan("signatures", version=first.version).collect()["doc_id"]) == ["a", "b"]
    ref = s3_root.append("runs", pl.DataFrame({"run_id": ["r1"], "summary": ["{}"]}), {"run_id": "r1"})
    assert ref.uri.startswith("s3://") and ref.version == 0
    (commit,) = s3_root.history("runs")
    assert commit["operation"] == "WRITE" and commit.get("run_id") == "r1"
    for name in ("runs", "signatures"):  # the ids that make commit retries safe expire after a week
        configuration = s3_root.table(name).metadata().configuration
        assert configuration["delta.setTransactionRetentionDuration"] == "interval 7 days"


def test_local_state_of_an_s3_root_needs_the_setting(s3_root: DataRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STATE_DIR_ENV)
    with pytest.raises(ConfigError, match=STATE_DIR_ENV):
        s3_root.path("models")
    with pytest.raises(ConfigError, match=STATE_DIR_ENV), s3_root.lock("nightly"):
        pass


def test_a_finished_folder_is_published_to_the_root(s3_root: DataRoot, s3_server: S3Server, tmp_path: Path) -> None:
    folder = tmp_path / "build"
    (folder / "sub").mkdir(parents=True)
    files = {"data-00000-of-00001.parquet": b"PAR1...", "manifest.json": b"{}", "sub/README.md": b"# card"}
    for name, data in files.items():
        (folder / name).write_bytes(data)

    where = s3_root.publish(folder, "datasets/demo")

    assert where == f"{s3_root.home}/datasets/demo"
    bucket, prefix = where.removeprefix("s3://").split("/", 1)
    client = s3_server.client()
    stored = {o["Key"].removeprefix(prefix + "/") for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert stored == set(files)
    for name, data in files.items():
        assert client.get_object(Bucket=bucket, Key=f"{prefix}/{name}")["Body"].read() == data
