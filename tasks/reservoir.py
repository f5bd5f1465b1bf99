"""The reservoir commit task."""

from __future__ import annotations

from prefect import task

from tasks.core import pipeline
from tasks.core.pipeline import StageResult
from tasks.runs import Run


@task(name="commit-to-reservoir", retries=3, retry_delay_seconds=[2, 10, 30])
def commit_to_reservoir(run: Run) -> StageResult:
    """Admit the surviving records (idempotent: a retry never duplicates a document)."""
    return pipeline.commit_stage(run.root, run.run_id)
