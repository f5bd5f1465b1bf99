"""The diversity task: clusters and novelty per document, and per-cluster quotas."""

from __future__ import annotations

from tasks.caching import stage_task
from tasks.core import pipeline
from tasks.core.config import DiversityConfig
from tasks.core.pipeline import StageResult
from tasks.runs import Run


@stage_task("score-diversity", retries=1, retry_delay_seconds=[5])
def score_diversity(run: Run, cfg: DiversityConfig) -> StageResult:
    """Assign clusters and novelty (refitting the model when the reservoir grew); drop over-quota records."""
    return pipeline.diversity_stage(run.root, run.run_id, cfg)
