"""The nightly curation flow: new scraped files in, reservoir updated."""

from __future__ import annotations

import datetime as dt

from prefect import flow

from tasks.clean import apply_quality_rules
from tasks.core.config import load_config
from tasks.dedup import drop_exact_duplicates
from tasks.ingest import ingest_files
from tasks.reservoir import commit_to_reservoir
from tasks.runs import find_new_inputs, start_run, summarize_run


def _run_name() -> str:
    return f"nightly-{dt.datetime.now(dt.UTC):%Y-%m-%d-%H%M}"


@flow(name="nightly-curation", flow_run_name=_run_name, log_prints=True)
def nightly_flow(inbox: str, home: str | None = None, config: str | None = None) -> dict[str, object]:
    """Ingest new files from ``inbox``, clean, deduplicate, and admit survivors to the reservoir.

    Returns the run summary: ``run_id``, ``ingested``, ``quarantined``, ``dropped`` (by reason),
    ``admitted`` and the table versions after the run.
    """
    cfg = load_config(config)
    run = start_run(home, inbox)
    files = find_new_inputs(run)
    ingest_files(run, files, cfg.ingest)
    apply_quality_rules(run, cfg.quality)
    drop_exact_duplicates(run)
    # Next stages (issues 4-6): near dedup, provenance score, diversity score.
    commit_to_reservoir(run)
    return summarize_run(run, cfg)
