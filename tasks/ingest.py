"""The ingest task: new inbox files into ``raw`` and ``quarantine``."""

from __future__ import annotations

from prefect import task

from tasks.core import pipeline
from tasks.core.config import IngestConfig
from tasks.core.ingest import IngestResult
from tasks.core.ledger import InputFile
from tasks.runs import Run


@task(name="ingest-files", retries=2, retry_delay_seconds=[2, 10], timeout_seconds=6 * 3600)
def ingest_files(run: Run, files: list[InputFile], cfg: IngestConfig) -> IngestResult:
    """Stream ``files`` into the data root; bad rows and files go to quarantine with a reason."""
    return pipeline.ingest_stage(run.root, run.run_id, files, cfg)
