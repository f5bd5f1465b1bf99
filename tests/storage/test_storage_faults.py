"""Storage errors on object storage: the network to S3 fails in the middle of a nightly run.

The fault is real: a proxy process between Wellspring and the S3 server resets every connection
and refuses new ones, starting at the first request of the reservoir commit. A short outage is
ridden out by the storage clients' retries; a long one fails the run with an error (no hang, no
half-written commit), and the next run finishes the failed one. Either way the reservoir and every
record's fate end up equal to the run without a fault.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tasks.core import pipeline
from tasks.core.errors import TableError
from tasks.core.storage import RETRIES_ENV, RETRY_TIMEOUT_ENV, DataRoot
from tests.storage.conftest import LocalReference, S3Server, use_endpoint
from tests.storage.proxy import ProxyProcess
from tests.storage.reference import fates, finish_unfinished, reservoir

COMMIT = "/reservoir/"  # the first request with this in its path creates the reservoir (a conditional put)


def test_a_short_outage_at_the_reservoir_commit_is_retried(
    local_reference: LocalReference, bucket: str, flaky: ProxyProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_endpoint(monkeypatch, flaky.endpoint, tmp_path / "state")
    monkeypatch.setenv(RETRIES_ENV, "10")
    monkeypatch.setenv(RETRY_TIMEOUT_ENV, "60")
    root = DataRoot.at(f"s3://{bucket}/wellspring")
    flaky.cut_on(COMMIT, for_s=1.5)

    summary = pipeline.curate_inbox(root, local_reference.inbox)

    stats = flaky.stats()
    assert stats["refused"] > 0, "the outage happened while the run was talking to S3"
    assert summary["admitted"] == reservoir(local_reference.root).height
    assert_frame_equal(reservoir(root), reservoir(local_reference.root))
    assert_frame_equal(fates(root), fates(local_reference.root))


def test_a_long_outage_fails_the_run_cleanly_and_the_next_run_completes_it(
    local_reference: LocalReference, bucket: str, flaky: ProxyProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_endpoint(monkeypatch, flaky.endpoint, tmp_path / "state")
    monkeypatch.setenv(RETRIES_ENV, "2")
    monkeypatch.setenv(RETRY_TIMEOUT_ENV, "2")
    root = DataRoot.at(f"s3://{bucket}/wellspring")
    flaky.cut_on(COMMIT)  # down until restored

    with pytest.raises(
        TableError, match=rf"{RETRY_TIMEOUT_ENV}.*127\.0\.0\.1.*Connection reset"
    ):  # what, where, what to tune
        pipeline.curate_inbox(root, local_reference.inbox)
    assert flaky.stats()["down"]
    flaky.restore()

    assert root.ref("reservoir").version is None, "no half-written reservoir commit"
    (failed,) = pipeline.unfinished_runs(root)
    assert finish_unfinished(root) == [failed]
    again = pipeline.curate_inbox(root, local_reference.inbox)
    assert again["ingested"] == 0, "the ledger on S3 remembers the inputs of the failed run"
    assert pipeline.unfinished_runs(root) == []
    assert_frame_equal(reservoir(root), reservoir(local_reference.root))
    assert_frame_equal(fates(root), fates(local_reference.root))


def test_a_commit_whose_answer_is_lost_is_not_applied_twice(
    s3_server: S3Server, bucket: str, flaky: ProxyProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The worst storage error for a log: the commit landed, the answer did not. A blind retry
    would append the rows again as the next version; the application transaction in each commit
    lets the retry see that its commit is already there."""
    use_endpoint(monkeypatch, flaky.endpoint, tmp_path / "state")
    root = DataRoot.at(f"s3://{bucket}/wellspring")
    root.append("runs", pl.DataFrame({"run_id": ["first"], "summary": ["{}"]}))
    flaky.cut_after("/runs/_delta_log/00000000000000000001.json", for_s=0.2)

    ref = root.append("runs", pl.DataFrame({"run_id": ["second"], "summary": ["{}"]}))

    assert flaky.stats()["cuts"] == 1, "the commit's answer was lost"
    assert sorted(root.scan("runs").collect()["run_id"]) == ["first", "second"]
    assert ref.version == 1 and [h["version"] for h in root.history("runs")] == [1, 0]
