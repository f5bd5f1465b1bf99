"""The bad-input corpus through the production ingest: the run finishes, every good row is in ``raw``, every
bad row is quarantined with a reason, and raw + quarantine account for every row we generated.

Each case is ingested on its own (one run per case, the :data:`~tests.reliability.corpus.GUARD` limits) so a
failure names the case; the memory test ingests the whole corpus as one run in a child process and bounds
its peak RSS. Cases with a known bug are expected to fail (strict xfail: they flip to a failure once fixed,
so the marker gets removed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tasks.core.storage import DataRoot
from tests.conftest import REPO
from tests.reliability.conftest import FULL, full_only
from tests.reliability.corpus import Case
from tests.reliability.run_corpus import ensure_corpus, ingest_and_check, memory_bound_mib

MEMORY_BOUND_MIB = memory_bound_mib(FULL)
CORPUS_ROOT = Path(tempfile.gettempdir()) / f"wellspring-reliability-{os.getuid()}"
FOLDER, CASES = ensure_corpus(CORPUS_ROOT, FULL)


# Cases that once hung (the block reader looped at end of input). A hang inside the ingest cannot be interrupted
# in-process, so these run in a child process that is killed on a timeout (generous: the box is shared).
HANGS = {"jsonl/empty-gzip": 60.0, "jsonl/exactly-8MiB": 120.0}


def _param(case: Case) -> object:
    marks: list[pytest.MarkDecorator] = []
    if case.known_bug and not case.known_bug.startswith("memory:"):  # memory bugs: run alone by the benchmark
        marks.append(pytest.mark.xfail(strict=True, reason=f"known bug: {case.known_bug}"))
    if case.name == "jsonl/exactly-8MiB":
        marks.append(full_only)  # 8 MiB through the pipeline (tests/core/test_readers.py covers the boundary fast)
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_every_row_of_a_bad_input_is_kept_or_quarantined(case: Case, tmp_path: Path) -> None:
    if case.name in HANGS:
        cmd = [sys.executable, "-m", "tests.reliability.run_corpus", "--corpus", str(CORPUS_ROOT)]
        cmd += ["--home", str(tmp_path / "home"), "--case", case.name, *(["--full"] if FULL else [])]
        report, _, _ = run_measured(cmd, timeout=HANGS[case.name])
        verdict = report["cases"][0]
        assert not verdict["problems"], f"{case.name} ({case.fault}): " + "; ".join(verdict["problems"])
        return
    found = ingest_and_check(DataRoot.at(tmp_path / "home"), FOLDER, [case], "r")[0]
    assert found.ok, f"{case.name} ({case.fault}): " + "; ".join(found.problems)
    assert found.lost == 0


def test_corpus_covers_every_format_and_compression() -> None:
    formats = {c.format for c in CASES}
    assert {"jsonl", "json", "csv", "tsv", "parquet", "warc", "html", "text"} <= formats
    for fmt in ("jsonl", "json", "csv", "tsv", "parquet"):
        assert {c.compression for c in CASES if c.format == fmt} >= {"plain", "gzip", "zstd"}, fmt
    assert sum(c.generated for c in CASES) > 1000


@full_only  # a memory bound is a benchmark figure (make reliability), not a fast-suite assertion
def test_whole_corpus_in_one_run_stays_under_the_memory_bound(tmp_path: Path) -> None:
    """One process ingests every case (one run, one raw commit); peak RSS of that process is bounded."""
    cmd = [sys.executable, "-m", "tests.reliability.run_corpus", "--corpus", str(CORPUS_ROOT), "--home", str(tmp_path)]
    if FULL:
        cmd.append("--full")
    report, _, seconds = run_measured(cmd, timeout=900)
    peak_mib = report["peak_rss_mib"]  # the child's own high-water mark (see run_corpus.peak_rss_mib)
    failed = {c["case"]: c["problems"] for c in report["cases"] if c["problems"]}
    assert not failed, json.dumps(failed, indent=1)
    assert sum(c["lost"] for c in report["cases"]) == 0
    assert peak_mib < MEMORY_BOUND_MIB, f"peak RSS {peak_mib:.0f} MiB (bound {MEMORY_BOUND_MIB} MiB, {seconds:.0f} s)"


def run_measured(cmd: list[str], timeout: float) -> tuple[dict[str, Any], float, float]:
    """Run ``cmd`` from the repository; its JSON report (last stdout line), peak RSS in MiB, and wall seconds."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.DEVNULL)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        out.seek(0)
        lines = out.read().decode("utf-8", "replace").strip().splitlines()
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert lines, f"{cmd} printed nothing (exit {proc.returncode}; killed after {timeout} s if it hung)"
    report: dict[str, Any] = json.loads(lines[-1])
    return report, usage.ru_maxrss / 1024, time.perf_counter() - started
