"""Deduplication tasks."""

from __future__ import annotations

from tasks.caching import stage_task
from tasks.core import pipeline
from tasks.core.config import MinHashConfig
from tasks.core.pipeline import StageResult
from tasks.runs import Run


@stage_task("drop-exact-duplicates", retries=2, retry_delay_seconds=[2, 10])
def drop_exact_duplicates(run: Run) -> StageResult:
    """Drop records whose normalised text is already in the reservoir or earlier in the batch."""
    return pipeline.exact_dedup_stage(run.root, run.run_id)


@stage_task("drop-near-duplicates", retries=2, retry_delay_seconds=[2, 10], timeout_seconds=4 * 3600)
def drop_near_duplicates(run: Run, cfg: MinHashConfig) -> StageResult:
    """Drop near-duplicates (MinHash LSH) within the batch and of reservoir documents."""
    return pipeline.near_dedup_stage(run.root, run.run_id, cfg)
