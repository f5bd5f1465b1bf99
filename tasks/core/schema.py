"""Column sets of every table, and checks that a frame has what a step needs."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl
import pyarrow as pa

from tasks.core.errors import SchemaError

_TS = pa.timestamp("us", tz="UTC")

# The canonical document columns every reader maps its input onto.
DOCUMENT = pa.schema(
    [
        ("doc_id", pa.string()),
        ("text", pa.large_string()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("domain", pa.string()),
        ("fetched_at", pa.string()),
        ("created_at", pa.string()),
        ("license", pa.string()),
        ("lang", pa.string()),
        ("meta", pa.large_string()),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "raw": pa.schema(
        [
            ("record_id", pa.string()),
            *DOCUMENT,
            ("input", pa.string()),
            ("position", pa.int64()),
            ("run_id", pa.string()),
        ]
    ),
    "quarantine": pa.schema(
        [
            ("run_id", pa.string()),
            ("input", pa.string()),
            ("input_sha256", pa.string()),
            ("position", pa.int64()),
            ("reason", pa.string()),
            ("message", pa.string()),
            ("original", pa.large_binary()),
            ("original_bytes", pa.int64()),
            ("quarantined_at", _TS),
        ]
    ),
    "decisions": pa.schema(
        [
            ("run_id", pa.string()),
            ("record_id", pa.string()),
            ("doc_id", pa.string()),
            ("stage", pa.string()),
            ("verdict", pa.string()),
            ("reason", pa.string()),
            ("dup_of", pa.string()),
            ("score", pa.float64()),
            ("detail", pa.string()),
            ("decided_at", _TS),
        ]
    ),
    "reservoir": pa.schema(
        [
            *DOCUMENT,
            ("n_chars", pa.int64()),
            ("record_id", pa.string()),
            ("admitted_run", pa.string()),
            ("admitted_at", _TS),
            ("retracted", pa.bool_()),
            ("retracted_at", _TS),
            ("retraction_reason", pa.string()),
            ("p_human", pa.float64()),
            ("evidence", pa.large_string()),
            ("cluster_id", pa.int32()),
            ("novelty", pa.float64()),
            ("cluster_share", pa.float64()),
        ]
    ),
    "scores": pa.schema(
        [
            ("run_id", pa.string()),
            ("record_id", pa.string()),
            ("doc_id", pa.string()),
            ("stage", pa.string()),
            ("p_human", pa.float64()),
            ("evidence", pa.large_string()),
            ("cluster_id", pa.int32()),
            ("novelty", pa.float64()),
            ("cluster_share", pa.float64()),
            ("model_version", pa.int64()),
        ]
    ),
    "retractions": pa.schema(
        [
            ("action", pa.string()),
            ("doc_id", pa.string()),
            ("source", pa.string()),
            ("domain", pa.string()),
            ("reason", pa.string()),
            ("by", pa.string()),
            ("at", _TS),
            ("reservoir_version", pa.int64()),
        ]
    ),
    "ledger": pa.schema(
        [
            ("input_sha256", pa.string()),
            ("input", pa.string()),
            ("format", pa.string()),
            ("size_bytes", pa.int64()),
            ("records", pa.int64()),
            ("quarantined", pa.int64()),
            ("run_id", pa.string()),
            ("ingested_at", _TS),
        ]
    ),
    "runs": pa.schema(
        [
            ("run_id", pa.string()),
            ("flow_run_id", pa.string()),
            ("inbox", pa.string()),
            ("started_at", _TS),
            ("finished_at", _TS),
            ("config_hash", pa.string()),
            ("summary", pa.large_string()),
        ]
    ),
}

# Large append-only tables are partitioned by run so a run's rows are read without a full scan.
PARTITIONS: dict[str, list[str]] = {"raw": ["run_id"], "decisions": ["run_id"], "scores": ["run_id"]}

# Per-document scores the scoring stages write to ``scores`` and the commit copies into ``reservoir``.
SCORE_COLUMNS = ("p_human", "evidence", "cluster_id", "novelty", "cluster_share")


def arrow_schema(table: str) -> pa.Schema:
    return TABLES[table]


def polars_schema(table: str) -> pl.Schema:
    empty = pl.from_arrow(TABLES[table].empty_table())
    assert isinstance(empty, pl.DataFrame)
    return empty.schema


def conform(data: pa.Table, table: str) -> pa.Table:
    """Order and cast ``data``'s columns to ``table``'s schema; missing known columns become null.

    Extra columns are kept (later stages add scores), so the table schema can grow. Rows for a
    table not listed here pass through unchanged.
    """
    if table not in TABLES:  # a table whose schema its rows define
        return data
    target = TABLES[table]
    missing_required = [
        n for n in ("run_id", "record_id", "doc_id") if n in target.names and n not in data.column_names
    ]
    if table in ("raw", "decisions") and missing_required:
        raise SchemaError(f"rows for table {table} lack columns {missing_required}")
    columns, fields = [], []
    for field in target:
        if field.name in data.column_names:
            columns.append(data.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(data.num_rows, field.type))
        fields.append(field)
    for name in data.column_names:
        if name not in target.names:
            columns.append(data.column(name))
            fields.append(data.schema.field(name))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def require(frame: pl.LazyFrame | pl.DataFrame, columns: Iterable[str], step: str) -> None:
    """Raise a precise :class:`SchemaError` when ``frame`` lacks any of ``columns``."""
    have = set(frame.collect_schema().names())
    missing = [c for c in columns if c not in have]
    if missing:
        raise SchemaError(f"{step} needs columns {missing}; the input has {sorted(have)}")
