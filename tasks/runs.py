"""Tasks that open and close a nightly run: finding new inputs and summarising what happened."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from prefect import task
from prefect.runtime import flow_run

from tasks.artifacts import publish_run_summary
from tasks.core import maintenance, pipeline
from tasks.core.config import NightlyConfig
from tasks.core.ledger import InputFile, list_inputs, new_inputs
from tasks.core.storage import DataRoot, versions


@dataclass(frozen=True)
class Run:
    """What every task of one nightly run shares: where the data is and which run this is."""

    home: str
    run_id: str
    inbox: str
    started_at: dt.datetime

    @property
    def root(self) -> DataRoot:
        return DataRoot.at(self.home)


def start_run(home: str | None, inbox: str) -> Run:
    root = DataRoot.at(home)
    return Run(root.home, pipeline.new_run_id(), inbox, dt.datetime.now(dt.UTC))


@task(name="find-unfinished-runs", retries=2, retry_delay_seconds=[2, 10])
def find_unfinished_runs(home: str | None) -> list[Run]:
    """Earlier runs that crashed after ingesting: this run finishes them first."""
    root = DataRoot.at(home)
    return [Run(root.home, run_id, "(resumed)", dt.datetime.now(dt.UTC)) for run_id in pipeline.unfinished_runs(root)]


@task(name="find-new-inputs", retries=2, retry_delay_seconds=[2, 10])
def find_new_inputs(run: Run) -> list[InputFile]:
    """Files in the inbox whose content the ledger has not seen."""
    return new_inputs(run.root, list_inputs([run.inbox]))


@task(name="summarize-run", retries=2, retry_delay_seconds=[2, 10])
def summarize_run(run: Run, cfg: NightlyConfig) -> dict[str, object]:
    """Count the run from the tables, record it in ``runs``, and publish the Prefect artifacts."""
    root = run.root
    summary = pipeline.run_summary(root, run.run_id)
    summary["diversity"] = pipeline.diversity_of_run(root, run.run_id, cfg.diversity)
    tables = ("raw", "quarantine", "decisions", "reservoir", "ledger")
    summary["versions"] = versions(root.ref(t) for t in tables)
    summary["home"] = root.home
    flow_run_id = flow_run.get_id()
    runs_ref = pipeline.record_run(root, run.run_id, run.started_at, run.inbox, cfg, summary, flow_run_id)
    summary["versions"]["runs"] = runs_ref.version  # type: ignore[index]
    publish_run_summary(summary)
    return summary


@task(name="maintain-tables", retries=1, retry_delay_seconds=[10])
def maintain_tables(home: str | None) -> list[dict[str, object]]:
    """Checkpoint each table's Delta log every few versions and expire old log entries (versions that builds
    pinned stay readable), so opening a table stays fast however many runs the data root has seen."""
    return maintenance.report(maintenance.maintain(DataRoot.at(home)))
