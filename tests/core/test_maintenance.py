"""Delta log upkeep on real tables: checkpoints, expired log entries, pinned versions, compaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tasks.core import maintenance, pipeline, reservoir
from tasks.core.config import IngestConfig
from tasks.core.errors import NotFoundError
from tasks.core.ingest import ingest_files
from tasks.core.ledger import list_inputs
from tasks.core.storage import DataRoot
from tests.conftest import SAMPLE
from tests.faults.support import quick_config

LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # every log file is older than "now - 0 hours"


def appended(root: DataRoot, table: str, versions: int) -> pl.DataFrame:
    """``versions`` one-row commits to ``table``; returns every row written."""
    rows = [pl.DataFrame({"i": [i], "note": [f"commit {i}"]}) for i in range(versions)]
    for row in rows:
        root.append(table, row)
    return pl.concat(rows)


def log_dir(root: DataRoot, table: str) -> Path:
    return Path(root.uri(table)) / "_delta_log"


def test_checkpoints_once_every_n_versions(root: DataRoot) -> None:
    appended(root, "events", 9)  # versions 0..8
    assert [r.checkpointed for r in maintenance.maintain(root, checkpoint_every=10)] == [False]
    appended(root, "events", 3)  # up to version 11
    first = maintenance.maintain(root, checkpoint_every=10)[0]
    assert (first.checkpointed, first.version) == (True, 11)
    assert maintenance.last_checkpoint(Path(root.uri("events"))) == 11
    assert not maintenance.maintain(root, checkpoint_every=10)[0].checkpointed  # nothing new: nothing to do
    assert root.scan("events").collect().height == 12


def test_recent_log_entries_are_kept_within_the_retention(root: DataRoot) -> None:
    appended(root, "events", 25)
    done = maintenance.maintain(root, checkpoint_every=10)[0]  # default retention: 30 days
    assert done.checkpointed and done.log_files_deleted == 0
    assert root.scan("events", version=3).collect().height == 4  # time travel still works


def test_expired_entries_go_and_the_log_stays_bounded_over_many_runs(root: DataRoot) -> None:
    written = []
    counts = []
    for _ in range(8):  # 8 "runs" of 5 commits each, maintenance after every run
        written.append(appended(root, "events", 5))
        maintenance.maintain(root, checkpoint_every=10, log_retention_hours=0, now=LATER)
        counts.append(maintenance.log_file_count(Path(root.uri("events"))))
    # without expiry the log would hold 40 commits plus checkpoints; with it, at most one
    # checkpoint interval of commits, the checkpoint and its hint
    assert max(counts) <= 10 + 2 and counts[-1] < 40
    assert root.scan("events").sort("i").collect().equals(pl.concat(written).sort("i"))
    with pytest.raises(NotFoundError):
        root.scan("events", version=2).collect()  # expired: no longer readable, as intended


def test_a_version_a_build_pinned_stays_readable_after_expiry(root: DataRoot) -> None:
    docs = _raw_docs(root)
    chunks = [docs.slice(i * 40, 40) for i in range(12)]
    reservoir.commit(root, "run-0", chunks[0], {})
    reservoir.commit(root, "run-1", chunks[1], {})
    pinned = root.ref("reservoir").version
    assert pinned is not None
    root.append("builds", pl.DataFrame({"build_id": ["b1"], "reservoir_version": [pinned]}))
    at_pin = root.scan("reservoir", version=pinned).sort("doc_id").collect()
    for i, chunk in enumerate(chunks[2:], start=2):
        reservoir.commit(root, f"run-{i}", chunk, {})
    before = root.scan("reservoir").sort("doc_id").collect()

    done = {r.table: r for r in maintenance.maintain(root, checkpoint_every=5, log_retention_hours=0, now=LATER)}

    assert done["reservoir"].protected and done["reservoir"].pinned_checkpoints == [pinned]
    assert done["reservoir"].log_files_deleted > 0
    left = sorted(p.name for p in log_dir(root, "reservoir").iterdir())
    assert not any(name.startswith(f"{pinned - 1:020d}.json") for name in left), "older entries were expired"
    assert root.scan("reservoir", version=pinned).sort("doc_id").collect().equals(at_pin)
    assert root.scan("reservoir").sort("doc_id").collect().equals(before)
    # the reservoir no longer lets delta-rs expire its log on its own (that would ignore the pin)
    assert pinned in maintenance.checkpoint_versions(Path(root.uri("reservoir")))
    assert reservoir.pinned_versions(root) == [pinned]


def test_a_full_nightly_data_root_is_maintained_and_reads_the_same(root: DataRoot, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "docs-e.json").write_bytes((SAMPLE / "inbox" / "docs-e.json").read_bytes())
    pipeline.curate_inbox(root, inbox, quick_config())  # a small diversity model: the tables are the point
    tables = maintenance.tables(root)
    assert {"raw", "decisions", "reservoir", "runs", "ledger"} <= set(tables)
    before = {t: root.scan(t).collect() for t in tables}
    done = maintenance.maintain(root, checkpoint_every=1, log_retention_hours=0, now=LATER)
    assert {r.table for r in done} == set(tables) and all(r.checkpointed for r in done if r.version >= 1)
    for table in tables:
        assert root.scan(table).collect().equals(before[table]), table


def test_compaction_merges_small_files_and_keeps_the_rows(root: DataRoot) -> None:
    rows = appended(root, "events", 12)
    done = maintenance.maintain(root, checkpoint_every=100, compact=True)[0]
    assert done.compaction is not None
    assert (done.compaction["numFilesRemoved"], done.compaction["numFilesAdded"]) == (12, 1)
    assert done.version == 12  # the compaction is one more version
    assert root.scan("events").sort("i").collect().equals(rows.sort("i"))


def test_checkpoint_every_must_be_positive(root: DataRoot) -> None:
    with pytest.raises(ValueError, match="checkpoint_every"):
        maintenance.maintain(root, checkpoint_every=0)


def _raw_docs(root: DataRoot) -> pl.DataFrame:
    run_id = pipeline.new_run_id()
    ingest_files(root, run_id, list_inputs([SAMPLE / "inbox" / "docs-a.jsonl"]), IngestConfig())
    return root.scan("raw").filter(pl.col("run_id") == run_id).collect()
