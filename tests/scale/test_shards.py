"""Sharded inputs on the shipped sample inbox: bounded shards, per-shard ingest equal to one-piece
ingest, a failing shard quarantined without holding back the others, a killed run resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from tasks.core import pipeline, shards
from tasks.core.config import IngestConfig
from tasks.core.ledger import list_inputs
from tasks.core.storage import DataRoot

REPO = Path(__file__).resolve().parents[2]


def _raw(root: DataRoot) -> pl.DataFrame:
    return root.scan("raw").select("record_id", "doc_id", "text", "input").collect().sort("record_id")


def test_shards_are_bounded_ordered_and_cover_every_file(sample_inbox: Path) -> None:
    files = list_inputs([sample_inbox])
    planned = shards.plan_shards(files, 300_000)
    assert [f for s in planned for f in s.files] == files
    assert [s.index for s in planned] == list(range(len(planned)))
    for s in planned:
        assert s.size_bytes <= 300_000 or len(s.files) == 1
    assert len(planned) >= 5
    assert shards.plan_shards(files, 1 << 40) == [shards.Shard(0, tuple(files))]


def test_per_shard_ingest_equals_one_piece_ingest(sample_inbox: Path, tmp_path: Path) -> None:
    whole, split = DataRoot.at(tmp_path / "whole"), DataRoot.at(tmp_path / "split")
    files = list_inputs([sample_inbox])
    pipeline.ingest_stage(whole, "run-a", files, IngestConfig())
    planned = shards.plan_shards(files, 300_000)
    shards.record_plan(split, "run-a", planned)
    for s in planned:
        shards.ingest_shard(split, "run-a", s, IngestConfig())
        shards.ingest_shard(split, "run-a", s, IngestConfig())  # a retry writes nothing twice
    assert _raw(split).equals(_raw(whole))
    assert split.scan("ledger").collect().height == len(files)
    assert shards.work_shards(split, "run-a") == planned
    assert shards.pending_shards(split, planned) == []


def test_a_failing_shard_is_quarantined_and_the_others_are_ingested(sample_inbox: Path, tmp_path: Path) -> None:
    root = DataRoot.at(tmp_path / "home")
    planned = shards.plan_shards(list_inputs([sample_inbox]), 300_000)
    broken = planned[1]
    broken.files[0].path.unlink()  # listed, then gone before its shard ran: reading it fails
    for s in planned:
        try:
            shards.ingest_shard(root, "run-b", s, IngestConfig())
        except Exception as e:
            assert s is broken
            shards.quarantine_shard(root, "run-b", s, f"{type(e).__name__}: {e}")
    quarantined = root.scan("quarantine").filter(pl.col("reason") == shards.SHARD_FAILED).collect()
    assert sorted(quarantined["input"].to_list()) == sorted(broken.inputs)
    assert "No such file" in quarantined["message"][0] or "not found" in quarantined["message"][0].lower()
    ingested = set(_raw(root)["input"].unique().to_list())
    others = {f.name for s in planned if s is not broken for f in s.files}
    assert ingested and ingested <= others and not ingested & set(broken.inputs)
    assert shards.pending_shards(root, planned) == []  # the ledger lists the quarantined files too


_CRASHING_RUN = """
import sys
from pathlib import Path
from tasks.core import shards
from tasks.core.config import IngestConfig
from tasks.core.ledger import list_inputs
from tasks.core.storage import DataRoot
root = DataRoot.at(sys.argv[1])
planned = shards.plan_shards(list_inputs([sys.argv[2]]), 300_000)
shards.record_plan(root, "run-c", planned)
for s in planned:
    shards.ingest_shard(root, "run-c", s, IngestConfig())
    print("shard", s.index, flush=True)
    if s.index == 1:
        Path(sys.argv[3]).touch()
        import time; time.sleep(600)  # killed here, with later shards not ingested
"""


def test_a_killed_run_resumes_from_its_completed_shards(sample_inbox: Path, tmp_path: Path) -> None:
    root, marker = DataRoot.at(tmp_path / "home"), tmp_path / "two-shards-done"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-c", _CRASHING_RUN, root.home, str(sample_inbox), str(marker)]
    child = subprocess.Popen(args, cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert child.poll() is None, "the child run ended early"
            assert time.monotonic() < deadline
            time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert pipeline.unfinished_runs(root) == ["run-c"]
    planned = shards.planned_shards(root, "run-c")
    first_two = root.scan("ledger").collect()
    pending = shards.pending_shards(root, planned)
    assert [s.index for s in pending] == [s.index for s in planned[2:]]
    for s in pending:
        shards.ingest_shard(root, "run-c", s, IngestConfig())
    ledger = root.scan("ledger").collect()
    assert ledger["input_sha256"].n_unique() == ledger.height == len(list_inputs([sample_inbox]))
    kept = first_two.select("input", "ingested_at").join(ledger.select("input", "ingested_at"), on="input")
    assert kept.height == first_two.height  # the completed shards were not read again

    reference = DataRoot.at(tmp_path / "reference")
    pipeline.ingest_stage(reference, "run-c", list_inputs([sample_inbox]), IngestConfig())
    assert _raw(root).equals(_raw(reference))


@pytest.mark.parametrize("size", [0, -5])
def test_a_shard_bound_must_be_positive(size: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        shards.plan_shards([], size)
