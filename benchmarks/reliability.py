"""The reliability suite as a report: every fault and bad input tried, its outcome, records lost, peak memory.

``python -m benchmarks.reliability [--quick]`` runs, each in its own process:

* the bad-input corpus (``tests/reliability/corpus.py``) ingested as one run by the production driver with
  the corpus limits; per case: rows generated, kept in ``raw``, quarantined, covered by a file-level
  rejection, lost (must be 0), and the peak RSS of that process (bound: :func:`~tests.reliability.run_corpus.memory_bound_mib`);
* every case with a known bug on its own, with a timeout, so a crash or a hang shows as the outcome;
* pytest on ``tests/reliability`` (``WELLSPRING_RELIABILITY_FULL=1`` unless ``--quick``: many more
  hypothesis examples and the heavy corpus) and on ``tests/test_crash_and_concurrency.py`` (SIGKILL during
  the reservoir commit, two nightly runs at once), ``tests/faults`` (SIGKILL at every stage boundary and
  mid-write, disk full, a Prefect server restart) and the S3 outage tests, each test listed with its outcome.

Results: ``benchmarks/results/reliability.{json,md}`` (``reliability.quick.*`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from benchmarks.common import REPO, machine, measure, table, write_results
from tests.reliability.corpus import Case
from tests.reliability.run_corpus import ensure_corpus, memory_bound_mib

KNOWN_BUG_TIMEOUT_S = 60


def corpus_rows(folder: Path, full: bool, home: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The corpus (cases without a known bug) in one process: per-case rows and the process measurements."""
    cmd = [sys.executable, "-m", "tests.reliability.run_corpus", "--corpus", str(folder), "--home", str(home)]
    run = measure([*cmd, *(["--full"] if full else [])], timeout=1800)
    cases = run.report.get("cases", [])
    process = {
        "wall_seconds": round(run.wall_seconds, 1),
        "peak_rss_mib": run.report.get("peak_rss_mib", round(run.peak_rss_mb, 1)),  # the child's own VmHWM
        "returncode": run.returncode,
        "ingest_seconds": run.report.get("ingest_seconds"),
        "stderr_tail": "" if run.returncode == 0 else run.stderr_tail[-600:],
    }
    return cases, process


def known_bug_row(case: Case, folder: Path, full: bool, home: Path) -> dict[str, Any]:
    """One known-bug case alone, so its crash or hang is its own outcome."""
    cmd = [sys.executable, "-m", "tests.reliability.run_corpus", "--corpus", str(folder), "--home", str(home)]
    run = measure([*cmd, *(["--full"] if full else []), "--case", case.name], timeout=KNOWN_BUG_TIMEOUT_S)
    # the child's own VmHWM when it reports; wait4's figure (which includes this parent's peak) when it crashed
    peak = run.report.get("peak_rss_mib", round(run.peak_rss_mb, 1))
    row: dict[str, Any] = {"case": case.name, "peak_rss_mib": peak, "known_bug": case.known_bug}
    if run.report.get("cases"):
        row.update(run.report["cases"][0])
    elif run.wall_seconds >= KNOWN_BUG_TIMEOUT_S:
        row.update(outcome=f"HANG: killed after {KNOWN_BUG_TIMEOUT_S} s", lost=case.generated, crashed=True)
    else:
        error = [line for line in run.stderr_tail.splitlines() if re.match(r"^\w+(\.\w+)*(Error|Exception)\b", line)]
        row.update(
            outcome=f"CRASH: {error[-1] if error else 'exit ' + str(run.returncode)}", lost=case.generated, crashed=True
        )
    row.setdefault("generated", case.generated)
    return row


def pytest_row(name: str, args: list[str], full: bool) -> dict[str, Any]:
    """pytest on ``args`` in a child process: result, pytest's closing summary line, seconds, peak RSS."""
    env = {**os.environ, "WELLSPRING_RELIABILITY_FULL": "1" if full else "0"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryFile() as out:
        junit = Path(work, "junit.xml")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *args]
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        lines = out.read().decode("utf-8", "replace").strip().splitlines()
        tests = test_outcomes(junit)
    returncode = os.waitstatus_to_exitcode(status)
    return {
        "suite": name,
        "ok": returncode == 0,
        "returncode": returncode,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "summary": lines[-1].strip("= ") if lines else "",
        "failures": [line for line in lines if line.startswith(("FAILED", "ERROR", "XPASS"))][:20],
        "tests": tests,
    }


def test_outcomes(junit: Path) -> list[dict[str, Any]]:
    """Each test of a pytest run from its JUnit XML (written by pytest itself): node id, outcome, seconds."""
    if not junit.is_file():
        return []
    found = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        kinds = {child.tag: child for child in case}
        skipped = kinds.get("skipped")
        if "failure" in kinds or "error" in kinds:
            outcome = "FAIL"
        elif skipped is not None:
            kind = "xfail" if skipped.get("type") == "pytest.xfail" else "skipped"
            outcome = f"{kind}: {skipped.get('message', '')[:120]}"
        else:
            outcome = "ok"
        node = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
        found.append({"test": node, "outcome": outcome, "seconds": round(float(case.get("time", 0)), 1)})
    return found


def outcome_of(row: dict[str, Any]) -> str:
    if row.get("outcome"):
        return str(row["outcome"])
    if str(row.get("known_bug", "")).startswith("memory:") and not row.get("problems"):
        return f"MEMORY: every row accounted for, but peak RSS {row['peak_rss_mib']:.0f} MiB"
    if row.get("problems"):
        return "FAIL: " + "; ".join(row["problems"])[:160]
    return "ok"


def markdown(data: dict[str, Any]) -> str:
    corpus, bugs, suites = data["corpus"], data["known_bugs"], data["suites"]
    process = data["corpus_process"]
    rows = [
        [
            f"`{r['case']}`",
            r["fault"],
            outcome_of(r),
            r["generated"],
            r["in_raw"],
            r["quarantine_rows"],
            r["covered_by_break"],
            f"**{r['lost']}**" if r["lost"] else 0,
        ]
        for r in corpus
    ]
    bug_rows = [
        [
            f"`{r['case']}`",
            r["fault"],
            outcome_of(r),
            r["generated"],
            r.get("in_raw", "-"),
            f"**{r['lost']}**",
            r["peak_rss_mib"],
        ]
        for r in bugs
    ]
    suite_rows = [
        [s["suite"], "ok" if s["ok"] else "FAIL", s["summary"], s["wall_seconds"], s["peak_rss_mib"]] for s in suites
    ]
    fault_rows = [
        [f"`{t['test']}`", t["outcome"], t["seconds"]]
        for s in suites
        if "faults" in s["suite"] or "crash" in s["suite"] or "S3" in s["suite"]
        for t in s.get("tests", [])
    ]
    lost = sum(r["lost"] for r in corpus)
    return "\n\n".join(
        [
            "# Reliability",
            f"Measured {data['machine']['date']} on {data['machine']['platform']} ({data['machine']['cpus']} CPUs), "
            f"mode: {'quick' if data['quick'] else 'full'}. Regenerate with `make reliability` "
            "(`python -m benchmarks.reliability`).",
            "## Bad-input corpus, one ingest run",
            f"{len(corpus)} generated inputs (every format, plain / gzip / zstd) ingested by one process with the "
            f"corpus limits (`max_record_bytes` 1 MiB, `max_file_bytes` 4 MiB, `max_decompressed_bytes` 64 MiB, "
            f"`max_compression_ratio` 100 beyond 1 MiB). **Records lost: {lost}.** Peak RSS of the process: "
            f"**{process['peak_rss_mib']} MiB** (bound {data['memory_bound_mib']} MiB), {process['wall_seconds']} s. "
            "*covered* = rows after a file-level break (truncation, bomb, whole-file limit), accounted by that "
            "one quarantine row; *lost* = rows neither in `raw`, nor quarantined, nor after a break.",
            table(["input", "fault", "outcome", "rows", "in raw", "quarantine rows", "covered", "lost"], rows),
            "## Inputs that fail today (known bugs, each run alone)",
            table(["input", "fault", "outcome", "rows", "in raw", "lost", "peak RSS MiB"], bug_rows)
            if bug_rows
            else "None.",
            "## Faults",
            "Each test injects a real fault (SIGKILL of the run at a stage boundary; the kernel killing it with "
            "SIGXFSZ in the middle of a table write; a full disk; a Prefect server restart; an S3 outage or a lost "
            "reply) and then checks that a re-run completes with the reservoir equal to the no-fault run: *ok* means "
            "no record was lost or duplicated. The kill scenarios run together in one module fixture, so the first "
            "of them carries their time.",
            table(["fault test", "outcome", "seconds"], fault_rows) if fault_rows else "Not run.",
            "## Test suites",
            table(["suite", "result", "pytest summary", "seconds", "peak RSS MiB"], suite_rows),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the fast corpus and test examples only")
    args = parser.parse_args(argv)
    full = not args.quick
    started = time.perf_counter()
    corpus_root = Path(tempfile.gettempdir()) / f"wellspring-reliability-{os.getuid()}"
    _, cases = ensure_corpus(corpus_root, full)
    by_name = {c.name: c for c in cases}
    with tempfile.TemporaryDirectory(prefix="wellspring-reliability-") as work:
        corpus, process = corpus_rows(corpus_root, full, Path(work, "corpus-home"))
        for row in corpus:
            row["fault"] = by_name[row["case"]].fault
        print(f"corpus: {len(corpus)} cases, peak RSS {process['peak_rss_mib']} MiB", file=sys.stderr)
        bugs = []
        for case in (c for c in cases if c.known_bug):
            row = known_bug_row(case, corpus_root, full, Path(work, "bug-" + case.name.replace("/", "-")))
            row["fault"] = case.fault
            bugs.append(row)
            print(f"known bug {case.name}: {outcome_of(row)}", file=sys.stderr)
    suites = [
        pytest_row("tests/reliability" + ("" if args.quick else " (FULL)"), ["tests/reliability"], full),
        pytest_row("tests/test_crash_and_concurrency.py", ["tests/test_crash_and_concurrency.py"], full),
        # kill -9 at every stage and mid-write, disk full, Prefect server restart (FULL), storage faults on S3
        pytest_row("tests/faults" + ("" if args.quick else " (FULL)"), ["tests/faults"], full),
        pytest_row("tests/storage (S3 faults)", ["tests/storage/test_storage_faults.py"], full),
    ]
    data = {
        "machine": machine(),
        "quick": args.quick,
        "memory_bound_mib": memory_bound_mib(full),
        "corpus_process": process,
        "corpus": corpus,
        "known_bugs": bugs,
        "suites": suites,
        "records_lost": sum(r["lost"] for r in corpus),
        "seconds": round(time.perf_counter() - started, 1),
    }
    name = "reliability.quick" if args.quick else "reliability"
    json_path, md_path = write_results(name, data, markdown(data))
    print(f"wrote {json_path.relative_to(REPO)} and {md_path.relative_to(REPO)}", file=sys.stderr)
    ok = (
        data["records_lost"] == 0
        and process["returncode"] == 0
        and process["peak_rss_mib"] < memory_bound_mib(full)
        and all(s["ok"] for s in suites)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
