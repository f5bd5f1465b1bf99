"""Real processes: a nightly run killed with SIGKILL mid-commit, and two nightly runs at once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import polars as pl

from tasks.core import pipeline
from tasks.core.config import NightlyConfig
from tasks.core.storage import DataRoot
from tests.reference import curate_inbox
from tests.test_cli import WELLSPRING, run


def serial_reference(inboxes: list[Path], home: Path, cfg: NightlyConfig | None = None) -> set[str]:
    """The reservoir that running the stages one inbox after the other gives (no Prefect)."""
    root = DataRoot.at(home)
    for inbox in inboxes:
        curate_inbox(root, inbox, cfg)
    return set(root.scan("reservoir").collect()["doc_id"])


def reservoir_ids(home: Path) -> list[str]:
    return DataRoot.at(home).scan("reservoir").collect()["doc_id"].to_list()


def start(inbox: Path, home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return subprocess.Popen(
        [WELLSPRING, "nightly", "--inbox", str(inbox), "--home", str(home), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: the kill below takes its Prefect server with it
    )


def test_kill_during_reservoir_commit_then_rerun_is_consistent(sample_inbox: Path, tmp_path: Path) -> None:
    for extra in ("docs-b.jsonl.gz", "docs-d.parquet", "docs-f.jsonl.zst", "pages.warc.gz", "html", "notes"):
        path = sample_inbox / extra  # a smaller inbox keeps the test quick; the commit is what is killed
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    home = tmp_path / "home"
    proc = start(sample_inbox, home)
    target = home / "reservoir"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if target.exists() and any(target.iterdir()):
            break  # the reservoir commit has started writing
        time.sleep(0.002)
    # The whole group, as a machine or container going down would: the run and the temporary Prefect
    # server it started (killing only the run would leave that server running after the tests).
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    out = run("nightly", "--inbox", str(sample_inbox), "--home", str(home), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    ids = reservoir_ids(home)
    assert len(ids) == len(set(ids)), "no duplicate documents"
    assert set(ids) == serial_reference([sample_inbox], tmp_path / "reference"), "nothing lost, nothing extra"
    runs = DataRoot.at(home).scan("runs").collect()
    assert pipeline.unfinished_runs(DataRoot.at(home)) == [] and runs.height >= 1


def test_two_concurrent_nightly_runs_equal_a_serial_order(sample_inbox: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "in1", tmp_path / "in2"
    first.mkdir()
    second.mkdir()
    for name in ("docs-a.jsonl", "docs-e.json"):
        shutil.copy(sample_inbox / name, first / name)
    for name in ("docs-e.json", "docs-c.csv"):  # docs-e overlaps
        shutil.copy(sample_inbox / name, second / name)
    home = tmp_path / "home"
    procs = [start(first, home), start(second, home)]
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    ids = reservoir_ids(home)
    assert len(ids) == len(set(ids))
    assert set(ids) == serial_reference([first, second], tmp_path / "reference")
    decisions = DataRoot.at(home).scan("decisions").collect()
    assert decisions.filter(pl.col("verdict") == "admitted").height == len(ids)
