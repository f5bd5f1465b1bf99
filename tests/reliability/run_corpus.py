"""Ingest the bad-input corpus and check every case; the child process of the memory test and the benchmark.

``python -m tests.reliability.run_corpus --corpus DIR --home DIR [--full] [--case NAME ...]``
builds the corpus in ``DIR`` (unless it is there), ingests the chosen cases with the production driver
(:func:`tasks.core.ingest.ingest_files`, one run, one ``raw`` commit, the :data:`~tests.reliability.corpus.GUARD`
limits), then compares the ``raw`` and ``quarantine`` tables with each case. It prints one JSON object on its
last stdout line: per-case verdicts, seconds, and this process's peak RSS.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from tasks.core.checksums import sha256_file
from tasks.core.ingest import ingest_files
from tasks.core.ledger import InputFile
from tasks.core.storage import DataRoot
from tests.reliability import corpus
from tests.reliability.corpus import GUARD, Case, Verdict, build_corpus, evaluate

CORPUS_STAMP = "cases.json"


def corpus_at(folder: Path, full: bool) -> tuple[Path, list[Case]]:
    """The corpus under ``folder`` (``fast-<generator hash>/`` or ``full-...``), written once.

    The stamp, written last, holds the plan (the cases as JSON); later calls read it back, so a process that
    only ingests never builds the data."""
    stamp = corpus_stamp(folder, full)
    where = stamp.parent
    if stamp.exists():
        return where, [_case(c) for c in json.loads(stamp.read_text())]
    cases = build_corpus(where, full=full)
    stamp.write_text(json.dumps([_plain(c) for c in cases]))
    return where, cases


def memory_bound_mib(full: bool) -> int:
    """The stated bound on the peak RSS of one process ingesting the whole corpus with the GUARD limits.

    The fast corpus (bombs of 40-64 MiB, 2-3 MiB records) measures ~450 MiB; the full one (bombs up to 2 GiB, a
    256 MiB line, a 64 MiB CSV field, 64 MiB decompressed past the total cap) ~1.2 GiB with the stream guard
    fixed. Interpreter, Polars, Arrow, deltalake, trafilatura and py3langid take ~300 MiB by themselves."""
    return 1536 if full else 1024


def ensure_corpus(folder: Path, full: bool) -> tuple[Path, list[Case]]:
    """:func:`corpus_at`, but the files are written by a child process. Writing them takes up to ~2 GB (the heavy
    cases), and a process's peak RSS is inherited by the children it starts (Linux keeps the high-water mark
    across ``vfork`` + ``exec``), which would inflate every memory figure measured after it."""
    if not corpus_stamp(folder, full).exists():
        cmd = [sys.executable, "-m", "tests.reliability.run_corpus", "--corpus", str(folder), "--generate-only"]
        subprocess.run([*cmd, *(["--full"] if full else [])], check=True, cwd=Path(__file__).resolve().parents[2])
    return corpus_at(folder, full)


def corpus_stamp(folder: Path, full: bool) -> Path:
    version = hashlib.sha256(Path(corpus.__file__).read_bytes()).hexdigest()[:12]  # a changed generator rewrites
    return folder / f"{'full' if full else 'fast'}-{version}" / CORPUS_STAMP


def _plain(case: Case) -> dict[str, Any]:
    found = dataclasses.asdict(case)
    found["rows"] = [sorted(r) for r in case.rows]
    found["breaks"] = sorted(case.breaks)
    return found


def _case(plain: dict[str, Any]) -> Case:
    rows = tuple(frozenset(r) for r in plain.pop("rows"))
    return Case(**{**plain, "rows": rows, "breaks": frozenset(plain.pop("breaks"))})


def ingest_and_check(root: DataRoot, folder: Path, cases: list[Case], run_id: str) -> list[Verdict]:
    """Ingest ``cases`` as one run into ``root`` and evaluate each from the stored tables."""
    files = []
    for case in cases:
        path = folder / case.file
        files.append(InputFile(path, sha256_file(path), path.stat().st_size))
    ingest_files(root, run_id, files, GUARD, progress=False)
    raw = (
        root.scan("raw")
        .filter(pl.col("run_id") == run_id)
        .select("input", "position", "text")
        .collect()
        .partition_by("input", as_dict=True)
    )
    quarantine = (
        root.scan("quarantine")
        .filter(pl.col("run_id") == run_id)
        .select("input", "position", "reason")
        .collect()
        .partition_by("input", as_dict=True)
    )
    verdicts = []
    for case, source in zip(cases, files, strict=True):
        kept = raw.get((source.name,), pl.DataFrame({"position": [], "text": []}))
        rejected = quarantine.get((source.name,), pl.DataFrame({"position": [], "reason": []}))
        verdicts.append(
            evaluate(
                case,
                zip(kept["position"].to_list(), kept["text"].to_list(), strict=True),
                zip(rejected["position"].to_list(), rejected["reason"].to_list(), strict=True),
            )
        )
    return verdicts


def peak_rss_mib() -> float:
    """This process's peak RSS in MiB: ``VmHWM``, the high-water mark of its own memory since ``exec``.

    Not ``getrusage``: Linux carries a parent's high-water mark into a child started with ``vfork`` + ``exec``
    (Python's default), so ``ru_maxrss`` of a child of a big process (a pytest run) reports the parent's peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--generate-only", action="store_true", help="write the corpus and stop")
    parser.add_argument(
        "--case", action="append", default=[], help="only these cases (default: all without a known bug)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    folder, cases = corpus_at(args.corpus, args.full)
    if args.generate_only:
        return 0
    wanted = set(args.case)
    chosen = [c for c in cases if (c.name in wanted if wanted else c.known_bug is None)]
    built = time.perf_counter()
    if args.home is None:
        parser.error("--home is required unless --generate-only")
    verdicts = ingest_and_check(DataRoot.at(args.home), folder, chosen, "reliability-corpus")
    report = {
        "cases": [v.as_dict() for v in verdicts],
        "generate_seconds": round(built - started, 2),
        "ingest_seconds": round(time.perf_counter() - built, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0 if all(v.ok for v in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
