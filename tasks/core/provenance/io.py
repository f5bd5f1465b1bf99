"""Reading documents for the CLI: JSON Lines (optionally gzip) or Parquet with a ``text`` column."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import polars as pl

from tasks.core.errors import InputError, SchemaError

#: Input columns that are not carried through (a benchmark's ground truth, for instance).
IGNORED = ("label",)


def read_documents(path: str | Path) -> pl.DataFrame:
    """A frame of the documents in ``path`` (``.jsonl``, ``.jsonl.gz``, ``.json`` lines or ``.parquet``).

    Nested ``meta`` objects are kept as JSON strings; a ``label`` column is dropped.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"input {p} does not exist")
    name = p.name.lower()
    try:
        if name.endswith(".parquet"):
            frame = pl.read_parquet(p)
        elif name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json")):
            opener = gzip.open if name.endswith(".gz") else open
            rows = []
            with opener(p, "rb") as f:
                for number, line in enumerate(f, 1):
                    if line.strip():
                        try:
                            row = orjson.loads(line)
                        except orjson.JSONDecodeError as e:
                            raise InputError(f"{p}:{number}: not a JSON object: {e}") from e
                        if not isinstance(row, dict):
                            raise InputError(f"{p}:{number}: not a JSON object")
                        if isinstance(row.get("meta"), (dict, list)):
                            row["meta"] = orjson.dumps(row["meta"]).decode()
                        rows.append(row)
            frame = (
                pl.from_dicts(rows, infer_schema_length=None)
                if rows
                else pl.DataFrame({"text": []}, schema={"text": pl.String})
            )
        else:
            raise InputError(f"input {p}: unsupported format (use .jsonl, .jsonl.gz or .parquet)")
    except (OSError, pl.exceptions.PolarsError) as e:
        raise InputError(f"input {p} cannot be read: {e}") from e
    if "text" not in frame.columns:
        raise SchemaError(f"input {p} has no 'text' column (columns: {frame.columns})")
    return frame.drop([c for c in IGNORED if c in frame.columns])
