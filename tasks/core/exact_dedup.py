"""Exact deduplication on ``doc_id`` (the hash of the normalised text).

Within a batch the survivor of each ``doc_id`` is the record with the earliest ``created_at``
(unknown dates last), then the first to arrive (input file name, then position in the file), then
the smallest ``record_id``, so the choice never depends on the order rows are processed.
A record whose ``doc_id`` is already in the reservoir is always a duplicate: the reservoir wins.
"""

from __future__ import annotations

import polars as pl

from tasks.core.schema import require


def exact_duplicates(batch: pl.LazyFrame, reservoir_ids: pl.LazyFrame) -> pl.LazyFrame:
    """Records of ``batch`` to drop: ``record_id``, ``doc_id``, ``dup_of``, ``in_reservoir``.

    ``batch`` needs ``record_id``, ``doc_id``, ``created_at``, ``input``, ``position``;
    ``reservoir_ids`` needs ``doc_id``.
    ``dup_of`` is the surviving ``record_id`` in the batch, or the ``doc_id`` in the reservoir.
    """
    order = ["doc_id", "created_at", "input", "position", "record_id"]
    require(batch, order, "exact dedup")
    require(reservoir_ids, ("doc_id",), "exact dedup")
    ranked = batch.select(order).sort(order, nulls_last=True)
    survivors = ranked.group_by("doc_id", maintain_order=True).agg(pl.col("record_id").first().alias("survivor"))
    known = reservoir_ids.select("doc_id").unique().with_columns(pl.lit(True).alias("in_reservoir"))
    return (
        ranked.join(survivors, on="doc_id")
        .join(known, on="doc_id", how="left")
        .with_columns(pl.col("in_reservoir").fill_null(False))
        .filter(pl.col("in_reservoir") | (pl.col("record_id") != pl.col("survivor")))
        .select(
            "record_id",
            "doc_id",
            pl.when(pl.col("in_reservoir")).then(pl.col("doc_id")).otherwise(pl.col("survivor")).alias("dup_of"),
            "in_reservoir",
        )
    )
