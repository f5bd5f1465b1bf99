"""What the fault tests share: a small inbox, a quick config, the driver, and the checks after a fault."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from deltalake import DeltaTable

from tasks.core import pipeline
from tasks.core.config import NightlyConfig
from tasks.core.storage import DataRoot
from tests.conftest import REPO, SAMPLE
from tests.test_crash_and_concurrency import reservoir_ids, serial_reference

# A smaller diversity representation than the default (2^20 hashed features, 128 SVD components, 64
# clusters): the fault runs are many and the reservoir small; the baseline uses the same config.
QUICK_CONFIG: dict[str, Any] = {
    "diversity": {"n_features": 4096, "max_features": 1024, "svd_components": 16, "n_clusters": 8}
}
TABLES = ("raw", "quarantine", "ledger", "decisions", "scores", "signatures", "reservoir", "runs")


def quick_config() -> NightlyConfig:
    return NightlyConfig.model_validate(QUICK_CONFIG)


def small_inbox(dest: Path) -> Path:
    """Real sample files (good rows and bad lines) plus exact and near copies of some of them, so that
    every stage (quarantine, quality, exact and near dedup, commit) has something to do."""
    dest.mkdir(parents=True)
    for name in ("docs-e.json", "bad-lines.jsonl"):
        (dest / name).write_bytes((SAMPLE / "inbox" / name).read_bytes())
    docs = json.loads((SAMPLE / "inbox" / "docs-e.json").read_text())
    long_docs = [d for d in docs if len(d.get("text", "").split()) > 60][:20]
    copies = [{**d, "id": f"{d.get('id')}-copy"} for d in long_docs[:10]]
    near = [{**d, "id": f"{d.get('id')}-near", "text": d["text"] + " (reposted)"} for d in long_docs[10:]]
    (dest / "reposts.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in copies + near))
    return dest


def baseline(inbox: Path, home: Path) -> set[str]:
    """The reservoir of one clean run of ``inbox`` (no fault), with the quick config."""
    return serial_reference([inbox], home, quick_config())


def run_driver(jobs: list[dict[str, Any]], work: Path, timeout: float = 600) -> list[dict[str, Any]]:
    """Run ``jobs`` through :mod:`tests.faults.driver` (one real process, one fork per job)."""
    work.mkdir(parents=True, exist_ok=True)
    jobs = [{"config": QUICK_CONFIG, **job} for job in jobs]
    (work / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.driver", str(work / "jobs.json"), str(work / "results.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[dict[str, Any]] = json.loads((work / "results.json").read_text())
    return results


def uncommitted_files(table_dir: Path) -> list[Path]:
    """Files in a table's folder that no version of its Delta log has added: what a write that died
    before its commit leaves behind (a reader never sees them)."""
    files = {p for p in table_dir.rglob("*") if p.is_file() and "_delta_log" not in p.parts}
    if not DeltaTable.is_deltatable(str(table_dir)):
        return sorted(files)
    added: set[Path] = set()
    for entry in sorted((table_dir / "_delta_log").glob("*.json")):
        for line in entry.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                added.add(table_dir / action["add"]["path"])
    return sorted(p for p in files - added if not p.name.endswith(".lock"))


def check_consistent(home: Path, expected: set[str]) -> None:
    """After the re-run: every table reads, no run is left unfinished, every run's records have one
    verdict each, the decisions agree with the reservoir, and the reservoir is the no-fault one."""
    root = DataRoot.at(home)
    for table in TABLES:
        if root.exists(table):
            root.scan(table).collect()  # every file the latest version names is there and readable
    assert pipeline.unfinished_runs(root) == []
    for run_id in root.scan("runs").select("run_id").collect()["run_id"]:
        assert pipeline.run_summary(root, run_id)["undecided"] == 0, f"run {run_id} has records without a verdict"
    ids = reservoir_ids(home)
    assert len(ids) == len(set(ids)), "a document was admitted twice"
    admitted = root.scan("decisions").filter(pl.col("verdict") == "admitted").select("doc_id").collect()["doc_id"]
    assert sorted(admitted) == sorted(ids), "the admitted decisions and the reservoir disagree"
    assert set(ids) == expected, (
        f"reservoir differs from the no-fault run: {len(set(ids) - expected)} extra, {len(expected - set(ids))} missing"
    )
