"""The ``decisions`` table: every stage's verdict about every record, per run.

A record gets exactly one terminal verdict per run: ``dropped`` (with a named reason) at the
stage that removed it, or ``admitted`` at the reservoir commit. So for every run
``ingested = admitted + sum(dropped)``, and ``wellspring explain`` can replay a document's fate.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from tasks.core.schema import SCORE_COLUMNS
from tasks.core.storage import DataRoot, TableRef

DROPPED = "dropped"
ADMITTED = "admitted"


def run_rows(root: DataRoot, table: str, run_id: str) -> pl.LazyFrame:
    """Rows of a run-keyed table for one run (partition-pruned where the table is partitioned)."""
    return root.scan(table).filter(pl.col("run_id") == run_id)


def alive(root: DataRoot, run_id: str) -> pl.LazyFrame:
    """Records of ``run_id`` that no stage has decided on yet: the input of the next stage."""
    decided = run_rows(root, "decisions", run_id).select("record_id")
    return run_rows(root, "raw", run_id).join(decided, on="record_id", how="anti")


def scored(root: DataRoot, run_id: str) -> pl.LazyFrame:
    """:func:`alive` records with the scores the scoring stages wrote for them (null where unscored)."""
    scores = (
        run_rows(root, "scores", run_id)
        .select("record_id", *SCORE_COLUMNS)
        .group_by("record_id")
        .agg(pl.col(c).drop_nulls().first() for c in SCORE_COLUMNS)
    )
    return alive(root, run_id).join(scores, on="record_id", how="left")


def record_scores(root: DataRoot, run_id: str, stage: str, rows: pl.DataFrame) -> TableRef:
    """Append one scoring stage's per-record scores (``record_id``, ``doc_id`` and score columns)."""
    if rows.height == 0:
        return root.ref("scores")
    frame = rows.with_columns(pl.lit(run_id).alias("run_id"), pl.lit(stage).alias("stage"))
    return root.append("scores", frame, {"run_id": run_id, "stage": stage})


def record(
    root: DataRoot,
    run_id: str,
    stage: str,
    verdict: str,
    rows: pl.DataFrame,
) -> TableRef:
    """Append one stage's verdicts. ``rows`` has ``record_id``, ``doc_id`` and optionally
    ``reason``, ``dup_of``, ``score``, ``detail``."""
    now = dt.datetime.now(dt.UTC)
    if rows.height == 0:
        return root.ref("decisions")
    frame = rows.with_columns(
        pl.lit(run_id).alias("run_id"),
        pl.lit(stage).alias("stage"),
        pl.lit(verdict).alias("verdict"),
        pl.lit(now).dt.replace_time_zone("UTC").alias("decided_at"),
    )
    return root.append("decisions", frame, {"run_id": run_id, "stage": stage})
