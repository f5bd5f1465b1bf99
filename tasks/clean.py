"""The cleaning task: quality rules over the run's records."""

from __future__ import annotations

from prefect import task

from tasks.caching import CACHE_EXPIRATION, STAGE_CACHE
from tasks.core import pipeline
from tasks.core.config import PiiConfig, QualityConfig
from tasks.core.pipeline import StageResult
from tasks.runs import Run


@task(
    name="apply-quality-rules",
    cache_policy=STAGE_CACHE,
    cache_expiration=CACHE_EXPIRATION,
    retries=2,
    retry_delay_seconds=[2, 10],
)
def apply_quality_rules(run: Run, cfg: QualityConfig) -> StageResult:
    """Drop records that fail a quality rule (``low_quality:<rule>``)."""
    return pipeline.quality_stage(run.root, run.run_id, cfg)


@task(
    name="drop-personal-data",
    cache_policy=STAGE_CACHE,
    cache_expiration=CACHE_EXPIRATION,
    retries=2,
    retry_delay_seconds=[2, 10],
)
def drop_personal_data(run: Run, cfg: PiiConfig) -> StageResult:
    """With ``pii.mode: drop``, drop records holding e-mail addresses, phone numbers or IPs."""
    return pipeline.pii_stage(run.root, run.run_id, cfg)
