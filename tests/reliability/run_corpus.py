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
    version = hashlib.sha256(Path(corpus.__file__).read_bytes()).hexdigest()[:12]  # a changed generator rewrites
    where = folder / f"{'full' if full else 'fast'}-{version}"
    stamp = where / CORPUS_STAMP
    if stamp.exists():
        return where, [_case(c) for c in json.loads(stamp.read_text())]
    cases = build_corpus(where, full=full)
    stamp.write_text(json.dumps([_plain(c) for c in cases]))
    return where, cases


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
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--full", action="store_true")
    parser.add_argument(
        "--case", action="append", default=[], help="only these cases (default: all without a known bug)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    folder, cases = corpus_at(args.corpus, args.full)
    wanted = set(args.case)
    chosen = [c for c in cases if (c.name in wanted if wanted else c.known_bug is None)]
    built = time.perf_counter()
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
