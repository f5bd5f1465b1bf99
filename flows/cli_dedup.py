"""``wellspring dedup INPUT... --out DIR``: standalone MinHash near-dedup of JSONL and Parquet files.

Reads every input whole (the survivors keep all input columns), runs
:func:`tasks.core.minhash.near_duplicates` and writes two Parquet files into ``DIR``:

- ``survivors.parquet``: the input rows that are kept, in input order, with all their columns (plus
  ``doc_id`` when the inputs have no id column);
- ``clusters.parquet``: one row per document in a cluster of two or more: ``doc_id``, ``cluster_id``
  (the survivor's id), ``survivor`` and ``similarity`` (estimated Jaccard to the survivor, null for it).

A document's id is its ``id`` column, else ``doc_id``, else its row number across the inputs (first
file first, from 0); ids must be unique. The text is the ``text`` column. ``created_at`` and
``p_human``, when present, feed the survivor rule. Signatures are computed on ``--workers`` threads
(default: every CPU this process may use). The data root is not touched: ``--home`` is accepted like
on every command and unused.

Start-up is part of the cost of a standalone command, so the path is lean. :func:`main` (``python -m
flows.cli_dedup``) parses its arguments with ``argparse`` and imports neither typer nor pyarrow,
deltalake or Prefect; Polars (reading and writing) and numpy (the MinHash core) are imported inside
:func:`run`, the input is read on Polars' threads while the options are validated and the MinHash core
is imported, and the survivors are written with zstd level 1 in row groups Polars compresses in parallel
(see :data:`PARQUET_OPTIONS`). The typer command :data:`dedup` that ``flows/cli.py`` registers is built only when that
name is imported, and calls the same :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.core.errors import InputError, WellspringError

if TYPE_CHECKING:
    import polars as pl

    from tasks.core.config import MinHashConfig

ID_COLUMNS = ("id", "doc_id")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
SUFFIXES = (*JSONL_SUFFIXES, ".parquet")
SURVIVORS, CLUSTERS = "survivors.parquet", "clusters.parquet"
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1, "row_group_size": 25_000}
"""zstd level 1: within about 10% of the default level's size at half its CPU time; row groups of 25,000
rows, so Polars compresses several of them at once (half the wall time of one big group on 2 CPUs)."""


def check_inputs(paths: Sequence[Path]) -> None:
    """Fail fast, before anything heavy is imported, on a missing input or an unreadable format."""
    if not paths:
        raise InputError("give at least one JSONL or Parquet file")
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path} is not a file")
        if path.suffix.lower() not in SUFFIXES:
            raise InputError(f"{path}: only JSONL (.jsonl, .ndjson) and Parquet (.parquet) files are read")


def read_inputs(paths: Sequence[Path]) -> tuple[pl.DataFrame, str | None]:
    """All inputs as one frame (columns unioned) and the id column used (None: row numbers)."""
    import polars as pl

    check_inputs(paths)
    frames = []
    for path in paths:
        try:
            if path.suffix.lower() == ".parquet":
                frame = pl.read_parquet(path)
            else:
                frame = pl.read_ndjson(path, infer_schema_length=None)
        except (pl.exceptions.PolarsError, OSError) as e:
            raise InputError(f"{path}: cannot read it: {str(e).splitlines()[0]}") from None
        if "text" not in frame.columns:
            raise InputError(f"{path} has no text column (columns: {', '.join(frame.columns) or 'none'})")
        frames.append(frame)
    try:
        docs = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    except pl.exceptions.PolarsError as e:
        raise InputError(f"the inputs' columns do not fit together: {str(e).splitlines()[0]}") from None
    id_column = next((c for c in ID_COLUMNS if c in docs.columns), None)
    return docs, id_column


def minhash_config(threshold: float, num_perm: int, ngram: int) -> MinHashConfig:
    """The validated configuration; an invalid value is a :class:`ConfigError` naming its option."""
    from pydantic import ValidationError

    from tasks.core.config import MinHashConfig
    from tasks.core.errors import ConfigError

    try:
        return MinHashConfig(threshold=threshold, num_perm=num_perm, ngram=ngram)
    except ValidationError as e:
        first = e.errors()[0]
        raise ConfigError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None


def _resolve(future: Future[Any], work: Any, *args: Any) -> None:
    try:
        future.set_result(work(*args))
    except BaseException as e:  # handed to the caller of ``future.result()``
        future.set_exception(e)


def run(inputs: Sequence[Path], out: Path, threshold: float, num_perm: int, ngram: int, workers: int) -> dict[str, Any]:
    """Deduplicate ``inputs`` into ``out`` (see the module docstring); returns the JSON summary."""
    started = time.perf_counter()
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    check_inputs(inputs)
    import polars as pl

    # Polars parses on its own threads without the GIL, so the read overlaps with validating the options
    # (pydantic) and importing numpy and the MinHash core: about a third of a CPU second. A daemon thread,
    # so that a bad option ends the command at once instead of after the read.
    pending: Future[tuple[pl.DataFrame, str | None]] = Future()
    threading.Thread(target=_resolve, args=(pending, read_inputs, inputs), daemon=True).start()
    cfg = minhash_config(threshold, num_perm, ngram)
    from tasks.core.minhash import near_duplicates

    docs, id_column = pending.result()
    read_at = time.perf_counter()
    doc_id = pl.col(id_column).cast(pl.String) if id_column else pl.int_range(pl.len()).cast(pl.String)
    ranked = [c for c in ("created_at", "p_human") if c in docs.columns]
    found = near_duplicates(docs.select(doc_id.alias("doc_id"), "text", *ranked), cfg, workers=workers)
    deduped_at = time.perf_counter()
    if id_column is None:
        docs = docs.with_columns(found["doc_id"])
    out.mkdir(parents=True, exist_ok=True)
    docs.filter(found["survivor"]).write_parquet(out / SURVIVORS, **PARQUET_OPTIONS)
    clusters = found.filter(pl.col("cluster_id").is_not_null()).select("doc_id", "cluster_id", "survivor", "similarity")
    clusters.write_parquet(out / CLUSTERS, **PARQUET_OPTIONS)
    finished = time.perf_counter()
    return {
        "documents": found.height,
        "removed": found.height - int(found["survivor"].sum()),
        "clusters": clusters["cluster_id"].n_unique(),
        "seconds": round(finished - started, 3),
        "timings": {
            "start_and_read": round(read_at - started, 3),
            "dedup": round(deduped_at - read_at, 3),
            "write": round(finished - deduped_at, 3),
        },
        "survivors": str(out / SURVIVORS),
        "clusters_file": str(out / CLUSTERS),
        "threshold": threshold,
        "num_perm": num_perm,
        "ngram": ngram,
        "workers": workers,
    }


def summary_text(payload: dict[str, Any]) -> str:
    """The one-line summary printed without ``--json``."""
    folder = Path(payload["survivors"]).parent
    return (
        f"{payload['documents']} documents: {payload['removed']} near-duplicates removed in "
        f"{payload['clusters']} clusters ({payload['seconds']} s); wrote {folder}/{SURVIVORS} and {CLUSTERS}"
    )


def default_workers() -> int:
    """Every CPU this process may use."""
    return len(os.sched_getaffinity(0))


def parser() -> argparse.ArgumentParser:
    """The options of ``wellspring dedup`` (the same as the typer command's)."""
    p = argparse.ArgumentParser(
        prog="wellspring dedup",
        description="Remove near-duplicate documents from JSONL / Parquet files (MinHash LSH, exact verification).",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUTS", help="JSONL (.jsonl, .ndjson) or Parquet files")
    p.add_argument("--out", type=Path, required=True, help="folder for survivors.parquet and clusters.parquet")
    p.add_argument("--threshold", type=float, default=0.8, help="Jaccard similarity of near-duplicates [0.8]")
    p.add_argument("--num-perm", type=int, default=128, help="MinHash permutations [128]")
    p.add_argument("--ngram", type=int, default=5, help="words per shingle [5]")
    p.add_argument("--workers", type=int, default=None, help="threads for the signatures [CPUs available]")
    p.add_argument("--home", default=None, help="data root (accepted, unused by this command)")
    p.add_argument("--json", dest="as_json", action="store_true", help="print exactly one JSON object on stdout")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m flows.cli_dedup ...``: the lean front end; exit code 1 with one line on user errors."""
    args = parser().parse_args(argv)
    workers = default_workers() if args.workers is None else args.workers
    try:
        payload = run(args.inputs, args.out, args.threshold, args.num_perm, args.ngram, workers)
    except WellspringError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    sys.stdout.write((json.dumps(payload) if args.as_json else summary_text(payload)) + "\n")
    return 0


def _typer_command() -> Any:
    """The typer version of the command, for ``flows/cli.py`` (imports typer, so built on demand)."""
    from typing import Annotated

    import typer

    from flows.cli_common import Home, Json, emit, expected_errors

    def dedup(
        inputs: list[Path],
        out: Path,
        threshold: float = 0.8,
        num_perm: int = 128,
        ngram: int = 5,
        workers: int | None = None,
        home: str | None = None,
        as_json: bool = False,
    ) -> None:
        """Remove near-duplicate documents from JSONL / Parquet files (MinHash LSH, exact verification)."""
        payload = run(inputs, out, threshold, num_perm, ngram, default_workers() if workers is None else workers)
        emit(payload, as_json, summary_text(payload))

    # Real objects, not strings: this module's postponed annotations could not resolve these local names.
    dedup.__annotations__ = {
        "inputs": Annotated[
            list[Path], typer.Argument(help="JSONL (.jsonl, .ndjson) or Parquet files", show_default=False)
        ],
        "out": Annotated[Path, typer.Option("--out", help="folder for survivors.parquet and clusters.parquet")],
        "threshold": Annotated[float, typer.Option("--threshold", help="Jaccard similarity of near-duplicates")],
        "num_perm": Annotated[int, typer.Option("--num-perm", help="MinHash permutations")],
        "ngram": Annotated[int, typer.Option("--ngram", help="words per shingle")],
        "workers": Annotated[
            int | None, typer.Option("--workers", help="threads for the signatures [default: CPUs available]")
        ],
        "home": Home,
        "as_json": Json,
        "return": None,
    }
    return expected_errors(dedup)  # after the annotations: functools.wraps copies them


def __getattr__(name: str) -> Any:
    """``dedup`` (the typer command) is built the first time it is imported: see the module docstring."""
    if name == "dedup":
        command = _typer_command()
        globals()["dedup"] = command
        return command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    raise SystemExit(main())
