"""The nightly stages run directly on the core library, in the flow's order: the reference that
flow-level tests compare against (keep in step with ``flows.nightly.curate``)."""

from __future__ import annotations

from pathlib import Path

from tasks.core import pipeline
from tasks.core.config import NightlyConfig
from tasks.core.ledger import list_inputs
from tasks.core.storage import DataRoot


def curate_inbox(root: DataRoot, inbox: Path, cfg: NightlyConfig | None = None) -> dict[str, object]:
    """Ingest ``inbox`` as one run and take it through every stage; returns the run summary."""
    cfg = cfg or NightlyConfig()
    run_id = pipeline.new_run_id()
    pipeline.ingest_stage(root, run_id, list_inputs([inbox]), cfg.ingest)
    pipeline.quality_stage(root, run_id, cfg.quality)
    pipeline.pii_stage(root, run_id, cfg.pii)
    pipeline.exact_dedup_stage(root, run_id)
    pipeline.near_dedup_stage(root, run_id, cfg.minhash)
    pipeline.diversity_stage(root, run_id, cfg.diversity)
    pipeline.admission_stage(root, run_id, cfg.admission)
    pipeline.commit_stage(root, run_id, pii=cfg.pii)
    return pipeline.run_summary(root, run_id)
