"""The nightly curation flow: new scraped files in, reservoir updated."""

from __future__ import annotations

import datetime as dt

from prefect import flow

from tasks.artifacts import StageProgress
from tasks.clean import apply_quality_rules, drop_personal_data
from tasks.core.config import NightlyConfig, load_config
from tasks.core.storage import DataRoot
from tasks.dedup import drop_exact_duplicates, drop_near_duplicates
from tasks.diversity import score_diversity
from tasks.hooks import record_failure
from tasks.ingest import ingest_files
from tasks.provenance import score_provenance
from tasks.reservoir import apply_admission_policy, commit_to_reservoir
from tasks.runs import Run, find_new_inputs, find_unfinished_runs, start_run, summarize_run


def _run_name() -> str:
    return f"nightly-{dt.datetime.now(dt.UTC):%Y-%m-%d-%H%M}"


def curate(run: Run, cfg: NightlyConfig) -> dict[str, object]:
    """Every stage after ingest, in order; each one is idempotent, so a crashed run can be re-curated."""
    progress = StageProgress(8, f"run {run.run_id}")
    apply_quality_rules(run, cfg.quality)
    progress.advance("quality rules")
    drop_personal_data(run, cfg.pii)
    progress.advance("personal data")
    drop_exact_duplicates(run)
    progress.advance("exact dedup")
    drop_near_duplicates(run, cfg.minhash)
    progress.advance("near dedup")
    score_provenance(run, cfg.provenance)
    progress.advance("provenance")
    score_diversity(run, cfg.diversity)
    progress.advance("diversity")
    apply_admission_policy(run, cfg.admission)
    progress.advance("admission")
    commit_to_reservoir(run, cfg)
    progress.advance("reservoir commit")
    return summarize_run(run, cfg)


@flow(name="nightly-curation", flow_run_name=_run_name, log_prints=True, on_failure=[record_failure])
def nightly_flow(inbox: str, home: str | None = None, config: str | None = None) -> dict[str, object]:
    """Ingest new files from ``inbox``, clean, deduplicate, and admit survivors to the reservoir.

    Returns the run summary: ``run_id``, ``ingested``, ``quarantined``, ``dropped`` (by reason),
    ``admitted`` and the table versions after the run. One nightly run at a time holds the data
    root's lock; a run that crashed earlier is finished first.
    """
    cfg = load_config(config)
    with DataRoot.at(home).lock("nightly"):
        for crashed in find_unfinished_runs(home):
            curate(crashed, cfg)
        run = start_run(home, inbox)
        ingest_files(run, find_new_inputs(run), cfg.ingest)
        return curate(run, cfg)
