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
on every command and unused. Heavy modules are imported inside the command, so
``wellspring --help`` stays fast.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli_common import Home, Json, emit, expected_errors
from tasks.core.errors import InputError

if TYPE_CHECKING:
    import polars as pl

ID_COLUMNS = ("id", "doc_id")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def read_inputs(paths: list[Path]) -> tuple[pl.DataFrame, str | None]:
    """All inputs as one frame (columns unioned) and the id column used (None: row numbers)."""
    import polars as pl

    frames = []
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path} is not a file")
        suffix = path.suffix.lower()
        if suffix not in (*JSONL_SUFFIXES, ".parquet"):
            raise InputError(f"{path}: only JSONL (.jsonl, .ndjson) and Parquet (.parquet) files are read")
        try:
            frame = pl.read_parquet(path) if suffix == ".parquet" else pl.read_ndjson(path, infer_schema_length=None)
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


def dedup(
    inputs: Annotated[list[Path], typer.Argument(help="JSONL (.jsonl, .ndjson) or Parquet files", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="folder for survivors.parquet and clusters.parquet")],
    threshold: Annotated[float, typer.Option("--threshold", help="Jaccard similarity of near-duplicates")] = 0.8,
    num_perm: Annotated[int, typer.Option("--num-perm", help="MinHash permutations")] = 128,
    ngram: Annotated[int, typer.Option("--ngram", help="words per shingle")] = 5,
    workers: Annotated[
        int | None, typer.Option("--workers", help="threads for the signatures [default: CPUs available]")
    ] = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Remove near-duplicate documents from JSONL / Parquet files (MinHash LSH, exact verification)."""
    _run(inputs, out, threshold, num_perm, ngram, workers or len(os.sched_getaffinity(0)), as_json)


@expected_errors
def _run(
    inputs: list[Path], out: Path, threshold: float, num_perm: int, ngram: int, workers: int, as_json: bool
) -> None:
    started = time.perf_counter()
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    from pydantic import ValidationError

    from tasks.core.config import MinHashConfig
    from tasks.core.errors import ConfigError

    try:
        cfg = MinHashConfig(threshold=threshold, num_perm=num_perm, ngram=ngram)
    except ValidationError as e:
        first = e.errors()[0]
        raise ConfigError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None
    import polars as pl

    from tasks.core.minhash import near_duplicates

    docs, id_column = read_inputs(inputs)
    doc_id = pl.col(id_column).cast(pl.String) if id_column else pl.int_range(pl.len()).cast(pl.String)
    ranked = [c for c in ("created_at", "p_human") if c in docs.columns]
    found = near_duplicates(docs.select(doc_id.alias("doc_id"), "text", *ranked), cfg, workers=workers)
    if id_column is None:
        docs = docs.with_columns(found["doc_id"])
    out.mkdir(parents=True, exist_ok=True)
    docs.filter(found["survivor"]).write_parquet(out / "survivors.parquet")
    clusters = found.filter(pl.col("cluster_id").is_not_null()).select("doc_id", "cluster_id", "survivor", "similarity")
    clusters.write_parquet(out / "clusters.parquet")
    payload = {
        "documents": found.height,
        "removed": found.height - int(found["survivor"].sum()),
        "clusters": clusters["cluster_id"].n_unique(),
        "seconds": round(time.perf_counter() - started, 3),
        "survivors": str(out / "survivors.parquet"),
        "clusters_file": str(out / "clusters.parquet"),
        "threshold": threshold,
        "num_perm": num_perm,
        "ngram": ngram,
        "workers": workers,
    }
    text = (
        f"{payload['documents']} documents: {payload['removed']} near-duplicates removed in "
        f"{payload['clusters']} clusters ({payload['seconds']} s); wrote {out}/survivors.parquet and clusters.parquet"
    )
    emit(payload, as_json, text)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command()(dedup)

if __name__ == "__main__":
    app()
