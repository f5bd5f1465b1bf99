"""The datatrove peer of ``benchmarks/ingest.py``: JSONL reader -> Gopher -> C4 quality filters, no writer.

Runs inside ``benchmarks/.venvs/datatrove`` (made by ``benchmarks/peers/setup_datatrove.sh``), not the
project venv, and imports nothing from Wellspring. One task, one worker, so it uses one core the way
Wellspring's ingest does. Prints one JSON object (counts and seconds) as its last stdout line.

Offline: for English, datatrove 0.10 tokenizes words and sentences with ``spacy.blank("en")`` plus the
rule-based ``sentencizer`` (no model and no NLTK punkt download); no language filter is used.

Variants:

* ``defaults``: both filters as datatrove ships them (Gopher drops documents under 50 words before C4
  sees them, so C4 runs on few documents; C4 splits each kept line into sentences).
* ``aligned``: thresholds set to Wellspring's ``QualityConfig`` defaults, so (as in Wellspring) nearly
  every document is measured by every rule; C4 keeps only the rules Wellspring has (lorem ipsum,
  javascript and policy lines), so no sentence splitting.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

COUNTS = {"read": 0, "kept": 0}


def _count(key: str):
    def step(data, rank: int = 0, world_size: int = 1):
        for doc in data:
            COUNTS[key] += 1
            yield doc

    return step


def _filters(variant: str) -> list:
    from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter

    if variant == "defaults":
        return [GopherQualityFilter(), C4QualityFilter()]
    return [
        GopherQualityFilter(
            min_doc_words=3,
            max_doc_words=200_000,
            min_avg_word_length=2,
            max_avg_word_length=15,
            max_symbol_word_ratio=0.15,
            max_bullet_lines_ratio=0.9,
            max_ellipsis_lines_ratio=0.3,
            max_non_alpha_words_ratio=0.5,
            min_stop_words=None,
        ),
        C4QualityFilter(
            filter_no_terminal_punct=False,
            min_num_sentences=-1,
            min_words_per_line=-1,
            filter_curly_bracket=False,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, type=Path, help="a .jsonl or .jsonl.gz file")
    parser.add_argument("--variant", choices=("defaults", "aligned"), default="defaults")
    args = parser.parse_args(argv)

    import importlib.metadata

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader

    path: Path = args.input.resolve()
    with tempfile.TemporaryDirectory(prefix="datatrove-bench-") as logs:
        executor = LocalPipelineExecutor(
            pipeline=[
                JsonlReader(str(path.parent), glob_pattern=path.name, recursive=False, doc_progress=False),
                _count("read"),
                *_filters(args.variant),
                _count("kept"),
            ],
            tasks=1,
            workers=1,
            logging_dir=logs,
            skip_completed=False,
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        executor.run()
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    report = {
        "datatrove": importlib.metadata.version("datatrove"),
        "spacy": importlib.metadata.version("spacy"),
        "variant": args.variant,
        "docs": COUNTS["read"],
        "kept": COUNTS["kept"],
        "dropped": COUNTS["read"] - COUNTS["kept"],
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
