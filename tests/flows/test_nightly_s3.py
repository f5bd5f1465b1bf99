"""The real nightly Prefect flow with its data root on a real S3 server (moto, loopback), its credentials
in a Prefect ``Secret`` block; and that block's error cases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal
from prefect.blocks.system import Secret

from flows.credentials import STORAGE_BLOCK_ENV, apply_storage_block
from flows.nightly import nightly_flow
from tasks.core.cluster import PARTITIONS_ENV, SHARD_BYTES_ENV
from tasks.core.errors import ConfigError
from tasks.core.storage import DataRoot
from tests.storage.conftest import (  # noqa: F401 - fixtures used by name
    CREDENTIALS,
    LocalReference,
    S3Server,
    bucket,
    local_reference,
    s3_server,
    use_endpoint,
)
from tests.storage.reference import fates, reservoir


@pytest.fixture
def s3_home(
    s3_server: S3Server,  # noqa: F811 - the fixtures imported above
    bucket: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> str:
    """A data root in a fresh bucket, the endpoint set the standard way, the state folder in ``tmp_path``."""
    use_endpoint(monkeypatch, s3_server.endpoint, tmp_path / "state")
    return f"s3://{bucket}/wellspring"


def test_nightly_flow_on_s3_equals_a_local_run(
    local_reference: LocalReference,  # noqa: F811
    s3_home: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    home = s3_home
    for key in CREDENTIALS:  # the credentials come from the block only (monkeypatch restores them after)
        monkeypatch.delenv(key)
    Secret(value=CREDENTIALS).save("wellspring-s3-test", overwrite=True)

    summary = nightly_flow(inbox=str(local_reference.inbox), home=home, storage_block="wellspring-s3-test")

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
    assert root.path().is_relative_to(tmp_path / "state" / "s3" / home.split("/")[2])


def test_the_dask_path_on_an_s3_root_equals_a_local_run(
    local_reference: LocalReference,  # noqa: F811
    s3_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A local Dask cluster of two worker processes (they inherit the run's AWS_* settings); shards and band
    partitions small enough that the sample inbox makes several of each."""
    home = s3_home
    monkeypatch.setenv(SHARD_BYTES_ENV, "400000")
    monkeypatch.setenv(PARTITIONS_ENV, "3")

    summary = nightly_flow(inbox=str(local_reference.inbox), home=home, workers=2)

    root = DataRoot.at(home)
    assert summary["admitted"] == reservoir(local_reference.root).height
    assert_frame_equal(reservoir(root), reservoir(local_reference.root))
    assert_frame_equal(fates(root), fates(local_reference.root))
    assert root.scan("shards").collect()["shard"].n_unique() >= 2
    assert not any(root.path("scratch").rglob("*.parquet"))  # the scratch files (in the state folder) are gone


def test_a_storage_block_is_checked_then_applied_without_logging_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(STORAGE_BLOCK_ENV, raising=False)
    assert apply_storage_block(None) == []  # no block named: the environment alone, as before
    with pytest.raises(ConfigError, match="storage block 'no-such-block'"):
        apply_storage_block("no-such-block")
    Secret(value="just-a-string").save("wellspring-s3-string", overwrite=True)
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        apply_storage_block("wellspring-s3-string")
    Secret(value={"AWS_ACCESS_KEY_ID": "k", "PASSWORD": "p"}).save("wellspring-s3-unknown", overwrite=True)
    monkeypatch.setenv(STORAGE_BLOCK_ENV, "wellspring-s3-unknown")  # the variable names it too
    with pytest.raises(ConfigError, match=r"unknown setting.*PASSWORD") as raised:
        apply_storage_block()
    assert "'k'" not in str(raised.value) and "'p'" not in str(raised.value)  # names, never values
    Secret(value={"AWS_ACCESS_KEY_ID": "key-id-value", "AWS_REGION": "eu-west-1"}).save(
        "wellspring-s3-ok", overwrite=True
    )
    for key in ("AWS_ACCESS_KEY_ID", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)  # restored by monkeypatch after the test
    assert apply_storage_block("wellspring-s3-ok") == ["AWS_ACCESS_KEY_ID", "AWS_REGION"]
    assert os.environ["AWS_ACCESS_KEY_ID"] == "key-id-value" and os.environ["AWS_REGION"] == "eu-west-1"
    printed = capsys.readouterr().out
    assert "AWS_ACCESS_KEY_ID" in printed and "key-id-value" not in printed  # the log names the settings only
