"""The nightly flow on a real Dask cluster (a ``dask scheduler`` and two ``dask worker`` processes
on 127.0.0.1, started here) gives the same reservoir and decisions as the single-process run, also
when a worker is killed (SIGKILL) in the middle of the run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest
from distributed import Client

from flows.nightly import nightly_flow
from tasks.core.cluster import PARTITIONS_ENV, SHARD_BYTES_ENV
from tasks.core.pipeline import curate_inbox
from tasks.core.storage import DataRoot

REPO = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).with_name("dask")


def outcome(home: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The reservoir's doc ids and every decision (without the wall-clock column), sorted."""
    root = DataRoot.at(home)
    reservoir = root.scan("reservoir").select("doc_id", "p_human", "cluster_id").collect().sort("doc_id")
    columns = ["record_id", "doc_id", "stage", "verdict", "reason", "dup_of", "score", "detail"]
    decided = root.scan("decisions").select(columns).collect().sort("record_id")
    return reservoir, decided


class Cluster:
    """A scheduler and two worker processes (no nanny: a killed worker stays dead)."""

    def __init__(self, folder: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.scheduler_file = folder / "scheduler.json"
        common = ["--no-dashboard", "--host", "127.0.0.1"]
        self.scheduler = subprocess.Popen(
            [str(DASK), "scheduler", "--scheduler-file", str(self.scheduler_file), "--port", "0", *common],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while not self.scheduler_file.exists():
            assert self.scheduler.poll() is None and time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        self.address = json.loads(self.scheduler_file.read_text())["address"]
        self.workers = [
            subprocess.Popen(
                [
                    str(DASK),
                    "worker",
                    "--scheduler-file",
                    str(self.scheduler_file),
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--name",
                    f"w{i}",
                    "--preload",
                    "tasks.scale",
                    *common,
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(2)
        ]
        self.client = Client(self.address, timeout=180)
        self.client.wait_for_workers(2, timeout=300)

    def worker_pids(self) -> dict[str, int]:
        return self.client.run(os.getpid)

    def close(self) -> None:
        self.client.close()
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                p.terminate()
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module")
def small_shards() -> Iterator[None]:
    """Several shards and band partitions even for the small sample inbox."""
    saved = {k: os.environ.get(k) for k in (SHARD_BYTES_ENV, PARTITIONS_ENV)}
    os.environ[SHARD_BYTES_ENV], os.environ[PARTITIONS_ENV] = "400000", "3"
    yield
    for k, v in saved.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture(scope="module")
def single_process(tmp_path_factory: pytest.TempPathFactory, small_shards: None) -> tuple[Path, dict[str, object]]:
    """The single-process run of the sample inbox (``curate_inbox``, the core reference of a nightly
    run, which ``tests/flows/test_nightly.py`` holds the default flow path to)."""
    folder = tmp_path_factory.mktemp("single")
    inbox = folder / "inbox"
    shutil.copytree(REPO / "sample_data" / "inbox", inbox)
    summary = curate_inbox(DataRoot.at(folder / "home"), inbox)
    return folder / "home", summary


def test_the_dask_run_equals_the_single_process_run(
    cluster: Cluster, single_process: tuple[Path, dict[str, object]], sample_inbox: Path, tmp_path: Path
) -> None:
    reference_home, reference = single_process
    summary = nightly_flow(inbox=str(sample_inbox), home=str(tmp_path / "home"), dask_address=cluster.address)
    for key in ("ingested", "quarantined", "dropped", "admitted"):
        assert summary[key] == reference[key], key
    reservoir, decided = outcome(tmp_path / "home")
    expected_reservoir, expected_decided = outcome(reference_home)
    assert reservoir.height > 2000 and reservoir.equals(expected_reservoir)
    assert decided.equals(expected_decided)
    assert "near_dup_of" in decided["reason"].to_list()
    # the heavy stages really ran on the workers, as mapped tasks
    assert not (tmp_path / "home" / "scratch").exists() or not any((tmp_path / "home" / "scratch").rglob("*.parquet"))
    plans = DataRoot.at(tmp_path / "home").scan("shards").collect()
    assert plans["shard"].n_unique() >= 5


def test_a_killed_worker_does_not_change_the_result(
    cluster: Cluster, single_process: tuple[Path, dict[str, object]], sample_inbox: Path, tmp_path: Path
) -> None:
    """Runs last in this module: it leaves the cluster with one worker."""
    home = tmp_path / "home"
    pids = cluster.worker_pids()
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(nightly_flow, inbox=str(sample_inbox), home=str(home), dask_address=cluster.address)
        victim = None
        deadline = time.monotonic() + 600
        while victim is None:
            busy = [w for w, keys in cluster.client.processing().items() if keys]
            if busy:
                victim = busy[0]
            assert not run.done(), "the run finished before any task reached a worker"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(pids[victim], signal.SIGKILL)
        summary = run.result(timeout=900)
    assert len(cluster.client.scheduler_info()["workers"]) == 1  # the killed worker is really gone
    reservoir, decided = outcome(home)
    expected_reservoir, expected_decided = outcome(single_process[0])
    assert summary["admitted"] == single_process[1]["admitted"]
    assert reservoir.equals(expected_reservoir)
    assert decided.equals(expected_decided)
    ledger = DataRoot.at(home).scan("ledger").collect()
    assert ledger["input_sha256"].n_unique() == ledger.height  # no file ingested twice
