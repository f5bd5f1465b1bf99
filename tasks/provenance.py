"""The provenance task: how likely each document is human-written, with the evidence."""

from __future__ import annotations

from tasks.caching import stage_task
from tasks.core import pipeline
from tasks.core.config import ProvenanceConfig
from tasks.core.pipeline import StageResult
from tasks.runs import Run


@stage_task("score-provenance", retries=1, retry_delay_seconds=[5])
def score_provenance(run: Run, cfg: ProvenanceConfig) -> StageResult:
    """``p_human`` from metadata signals and the latest (or pinned) classifier, with its evidence."""
    return pipeline.provenance_stage(run.root, run.run_id, cfg)
