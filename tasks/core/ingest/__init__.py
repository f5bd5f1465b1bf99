"""Ingestion: files of any supported format into the ``raw`` and ``quarantine`` tables."""

from tasks.core.ingest.driver import FileOutcome, IngestResult, ingest_files, read_items
from tasks.core.ingest.formats import SUPPORTED

__all__ = ["SUPPORTED", "FileOutcome", "IngestResult", "ingest_files", "read_items"]
