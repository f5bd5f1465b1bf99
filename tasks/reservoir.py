"""Reservoir tasks: the admission policy and the commit."""

from __future__ import annotations

from prefect.runtime import flow_run

from tasks.caching import stage_task
from tasks.core import pipeline
from tasks.core.config import AdmissionConfig, NightlyConfig
from tasks.core.pipeline import StageResult
from tasks.runs import Run


@stage_task("apply-admission-policy", retries=2, retry_delay_seconds=[2, 10])
def apply_admission_policy(run: Run, cfg: AdmissionConfig) -> StageResult:
    """Drop survivors below the ``p_human`` threshold or over a source / domain quota."""
    return pipeline.admission_stage(run.root, run.run_id, cfg)


@stage_task("commit-to-reservoir", retries=3, retry_delay_seconds=[2, 10, 30], timeout_seconds=3600)
def commit_to_reservoir(run: Run, cfg: NightlyConfig) -> StageResult:
    """Admit the surviving records as one reservoir version, personal data redacted (idempotent)."""
    metadata = {"flow_run_id": str(flow_run.get_id() or ""), "inbox": run.inbox, "config_hash": cfg.config_hash()}
    return pipeline.commit_stage(run.root, run.run_id, metadata, cfg.pii)
