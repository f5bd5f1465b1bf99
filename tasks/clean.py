"""The cleaning task: quality rules over the run's records."""

from __future__ import annotations

from tasks.caching import stage_task
from tasks.core import pipeline
from tasks.core.config import PiiConfig, QualityConfig
from tasks.core.pipeline import StageResult
from tasks.runs import Run


@stage_task("apply-quality-rules", retries=2, retry_delay_seconds=[2, 10])
def apply_quality_rules(run: Run, cfg: QualityConfig) -> StageResult:
    """Drop records that fail a quality rule (``low_quality:<rule>``)."""
    return pipeline.quality_stage(run.root, run.run_id, cfg)


@stage_task("drop-personal-data", retries=2, retry_delay_seconds=[2, 10])
def drop_personal_data(run: Run, cfg: PiiConfig) -> StageResult:
    """With ``pii.mode: drop``, drop records holding e-mail addresses, phone numbers or IPs."""
    return pipeline.pii_stage(run.root, run.run_id, cfg)
