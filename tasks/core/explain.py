"""Everything recorded about one document: where it came from and every decision about it."""

from __future__ import annotations

import polars as pl

from tasks.core.errors import NotFoundError
from tasks.core.storage import DataRoot


def explain(root: DataRoot, doc_id: str) -> dict[str, object]:
    """The records, decisions (all runs, in time order) and reservoir state of ``doc_id``.

    ``doc_id`` may also be a ``record_id``; the document it holds is explained.
    """
    raw = root.scan("raw")
    by_record = raw.filter(pl.col("record_id") == doc_id).select("doc_id").collect()
    if by_record.height:
        doc_id = by_record.item(0, 0)
    records = (
        raw.filter(pl.col("doc_id") == doc_id)
        .select("record_id", "run_id", "input", "position", "source", "url", "created_at")
        .sort("run_id", "record_id")
        .collect()
    )
    verdicts = (
        root.scan("decisions")
        .filter(pl.col("doc_id") == doc_id)
        .select("decided_at", "run_id", "record_id", "stage", "verdict", "reason", "dup_of", "score", "detail")
        .sort("decided_at", "record_id")
        .collect()
    )
    reservoir = root.scan("reservoir").filter(pl.col("doc_id") == doc_id).drop("text").collect()
    if records.height == 0 and reservoir.height == 0:
        raise NotFoundError(f"no document or record {doc_id!r} in {root.home}")
    return {
        "doc_id": doc_id,
        "records": records.to_dicts(),
        "decisions": verdicts.with_columns(pl.col("decided_at").dt.to_string()).to_dicts(),
        "in_reservoir": reservoir.height > 0,
        "reservoir": reservoir.with_columns(pl.col("admitted_at").dt.to_string()).to_dicts(),
    }
