"""Two processes committing to the same Delta tables on S3 at once: every write lands, once.

deltalake writes each commit file with a conditional put (``If-None-Match: *``); when both
processes try to create the same version, S3 answers one of them 412 and that writer retries on
top of the other's commit (appends) or re-reads and redoes its merge (:meth:`DataRoot.merge`).
The proxy in between counts the 412 answers, so the test shows the conflicts really happened.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import polars as pl
import pytest

from tasks.core.storage import DataRoot
from tests.storage.conftest import S3Server, use_endpoint
from tests.storage.proxy import ProxyProcess
from tests.storage.writers import COMMITS, commit_many


def test_two_processes_commit_to_the_same_tables_without_losing_a_write(
    s3_server: S3Server, bucket: str, flaky: ProxyProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_endpoint(monkeypatch, flaky.endpoint, tmp_path / "state")  # the children inherit the environment
    home = f"s3://{bucket}/wellspring"
    root = DataRoot.at(home)
    root.append("runs", pl.DataFrame({"run_id": ["setup"], "summary": ["{}"]}))
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(2)
    writers = [spawn.Process(target=commit_many, args=(home, w, start)) for w in (1, 2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=300)
    assert [w.exitcode for w in writers] == [0, 0]

    runs = root.scan("runs").collect()["run_id"].to_list()
    assert sorted(runs) == sorted(["setup", *(f"w{w}-{i}" for w in (1, 2) for i in range(COMMITS))])
    seen = root.scan("seen").collect()
    assert seen["key"].n_unique() == seen.height, "a key inserted by both writers is stored once"
    assert set(seen["key"]) == {f"k{i}" for i in range(COMMITS)} | {f"w{w}-{i}" for w in (1, 2) for i in range(COMMITS)}
    versions = [h["version"] for h in root.history("runs")]
    assert sorted(versions) == list(range(2 * COMMITS + 1)), "one version per commit, none overwritten"
    assert flaky.stats()["statuses"].get("412", 0) > 0, (
        "the writers did collide, and S3 refused the second commit of a version"
    )
