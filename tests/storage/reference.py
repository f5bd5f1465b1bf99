"""What two nightly results are compared on: reservoir documents and every record's fate."""

from __future__ import annotations

import polars as pl

from tasks.core import pipeline
from tasks.core.config import NightlyConfig
from tasks.core.storage import DataRoot

# Part of the shipped sample inbox (the files ``sample_inbox`` copies) keeps the S3 tests at a few
# seconds; it still has every kind of outcome (good rows, exact and near duplicates, quarantined
# lines, a gzip file).
KEEP = ("docs-a.jsonl", "docs-b.jsonl.gz", "docs-c.csv", "docs-e.json", "bad-lines.jsonl", "truncated.jsonl.gz")


def reservoir(root: DataRoot) -> pl.DataFrame:
    """The reservoir's documents and what decided them, in a stable order (no run ids or times)."""
    return root.scan("reservoir").select("doc_id", "text", "source", "cluster_id").collect().sort("doc_id")


def fates(root: DataRoot) -> pl.DataFrame:
    """Every record's decisions, independent of run ids and input paths."""
    return (
        root.scan("decisions")
        .select("record_id", "doc_id", "stage", "verdict", "reason", "dup_of")
        .collect()
        .sort("record_id", "stage", "verdict")
    )


def finish_unfinished(root: DataRoot, cfg: NightlyConfig | None = None) -> list[str]:
    """What a nightly run does first: finish every run that crashed after ingesting (the stages are
    idempotent), in the order of ``flows.nightly.curate``."""
    cfg = cfg or NightlyConfig()
    finished = pipeline.unfinished_runs(root)
    for run_id in finished:
        pipeline.quality_stage(root, run_id, cfg.quality)
        pipeline.pii_stage(root, run_id, cfg.pii)
        pipeline.exact_dedup_stage(root, run_id)
        pipeline.near_dedup_stage(root, run_id, cfg.minhash)
        pipeline.provenance_stage(root, run_id, cfg.provenance)
        pipeline.diversity_stage(root, run_id, cfg.diversity)
        pipeline.admission_stage(root, run_id, cfg.admission)
        pipeline.commit_stage(root, run_id, pii=cfg.pii)
        summary = pipeline.run_summary(root, run_id)
        pipeline.record_run(root, run_id, pipeline.dt.datetime.now(pipeline.dt.UTC), "(resumed)", cfg, summary)
    return finished
