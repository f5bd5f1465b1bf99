"""The admission policy: which surviving documents may enter the reservoir.

Checked in order, each with a named reason in ``decisions``:

* ``low_provenance``: ``p_human`` below ``min_p_human`` (when the batch has been scored);
* ``quota:source`` / ``quota:domain``: the source (or web domain) already holds its maximum number
  of reservoir documents. Within a batch the remaining room goes to the most human-looking
  documents first (``p_human``), then the earliest ``created_at``, then the smallest ``doc_id``, so
  the choice is deterministic.
"""

from __future__ import annotations

import polars as pl

from tasks.core.config import AdmissionConfig
from tasks.core.schema import require


def admission_drops(batch: pl.DataFrame, reservoir: pl.LazyFrame, cfg: AdmissionConfig) -> pl.DataFrame:
    """Rows of ``batch`` (``record_id``, ``doc_id``, ``source``, ``domain``, ``created_at``, optional
    ``p_human``) that the policy refuses: ``record_id``, ``doc_id``, ``reason``."""
    require(batch, ("record_id", "doc_id", "source", "domain", "created_at"), "admission")
    has_score = "p_human" in batch.columns
    order = (["p_human"] if has_score else []) + ["created_at", "doc_id"]
    ranked = batch.sort(order, descending=[True] * has_score + [False, False], nulls_last=True)
    drops = []
    if has_score and cfg.min_p_human is not None:
        low = ranked.filter(pl.col("p_human").fill_null(0.0) < cfg.min_p_human)
        drops.append(low.select("record_id", "doc_id", pl.lit("low_provenance").alias("reason")))
        ranked = ranked.join(low.select("record_id"), on="record_id", how="anti")
    for column, limit in (("source", cfg.max_docs_per_source), ("domain", cfg.max_docs_per_domain)):
        if limit is None:
            continue
        held = reservoir.filter(pl.col("retracted").fill_null(False).not_()).group_by(column).len("held").collect()
        over = (
            ranked.join(held, on=column, how="left", nulls_equal=True)
            .with_columns(pl.col("held").fill_null(0), pl.int_range(pl.len()).over(column).alias("_rank"))
            .filter(pl.col(column).is_not_null() & (pl.col("held") + pl.col("_rank") >= limit))
        )
        drops.append(over.select("record_id", "doc_id", pl.lit(f"quota:{column}").alias("reason")))
        ranked = ranked.join(over.select("record_id"), on="record_id", how="anti")
    if not drops:
        return pl.DataFrame(schema={"record_id": pl.String, "doc_id": pl.String, "reason": pl.String})
    return pl.concat(drops)
