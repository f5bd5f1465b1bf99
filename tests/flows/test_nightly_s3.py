"""The real nightly Prefect flow with its data root on a real S3 server (moto, loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from flows.nightly import nightly_flow
from tasks.core.storage import DataRoot
from tests.storage.conftest import (  # noqa: F401 - fixtures used by name
    LocalReference,
    S3Server,
    bucket,
    local_reference,
    s3_server,
    use_endpoint,
)
from tests.storage.reference import fates, reservoir


def test_nightly_flow_on_s3_equals_a_local_run(
    local_reference: LocalReference,  # noqa: F811 - the fixtures imported above
    s3_server: S3Server,  # noqa: F811
    bucket: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    use_endpoint(monkeypatch, s3_server.endpoint, tmp_path / "state")
    home = f"s3://{bucket}/wellspring"

    summary = nightly_flow(inbox=str(local_reference.inbox), home=home)

    root = DataRoot.at(home)
    assert summary["home"] == home
    assert summary["admitted"] == reservoir(local_reference.root).height
    assert_frame_equal(reservoir(root), reservoir(local_reference.root))
    assert_frame_equal(fates(root), fates(local_reference.root))
    versions: dict[str, int] = summary["versions"]  # type: ignore[assignment]
    assert versions["reservoir"] == root.ref("reservoir").version
    runs = root.scan("runs").collect()
    assert runs["run_id"].to_list() == [summary["run_id"]] and runs["flow_run_id"][0]
    # The run's lock and the diversity model are in the local state folder, named after the bucket.
    assert root.path("nightly.lock").is_file() and root.path("models", "diversity", "v1").is_dir()
    assert root.path().is_relative_to(tmp_path / "state" / "s3" / bucket)
