"""Stream input files into the ``raw`` and ``quarantine`` tables, and record them in the ledger.

Memory is bounded by ``ingest.batch_rows``: records flow reader -> batch builder -> Parquet parts
(:mod:`~tasks.core.ingest.delta_parts`), and all records of a run land in one ``raw`` commit, so a
run is one version of ``raw`` and a crash before the commit leaves no partial rows.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa
from tqdm import tqdm

from tasks.core import schema
from tasks.core.config import IngestConfig
from tasks.core.ingest.compression import open_input
from tasks.core.ingest.delta_parts import append_parts
from tasks.core.ingest.formats import SUPPORTED, format_of
from tasks.core.ingest.items import Columns, Fields, Item, Rejection, StreamBroken
from tasks.core.ingest.readers import BLOCK_READERS, READERS
from tasks.core.ingest.records import BatchBuilder
from tasks.core.ledger import InputFile
from tasks.core.ledger import open_input as open_source
from tasks.core.storage import DataRoot, TableRef

# A batch is flushed at ``ingest.batch_rows`` records or this much text, whichever comes first: the
# normalisation copies the text a few times, so long documents would otherwise set the peak memory.
FLUSH_TEXT_BYTES = 16 << 20


@dataclass
class FileOutcome:
    """What one input file gave: its format, records kept and rejections by reason."""

    input: InputFile
    format: str | None = None
    records: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


@dataclass
class IngestResult:
    run_id: str
    raw: TableRef
    quarantine: TableRef
    ledger: TableRef
    files: list[FileOutcome]

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(sum(f.rejected.values()) for f in self.files)

    @property
    def quarantine_reasons(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.rejected)
        return dict(total.most_common())


def read_items(
    source: InputFile, cfg: IngestConfig, outcome: FileOutcome, raw: BinaryIO | None = None, columnar: bool = False
) -> Iterator[Item | Columns]:
    """Every record and rejection of one file; problems with the file itself become rejections too.

    ``columnar=True`` lets formats with a fast path yield :class:`Columns` blocks of records instead
    of one :class:`Fields` per record (see :meth:`BatchBuilder.add_columns`)."""
    if source.size == 0:
        yield Rejection(0, "empty_file", "the file is empty (zero bytes)")
        return
    try:
        stream, _ = open_input(source.path, cfg, raw)
    except OSError as e:
        yield Rejection(0, "unreadable_file", f"cannot open the file: {e}")
        return
    position = 0
    with stream:
        try:
            head = stream.peek(512)[:512]  # type: ignore[attr-defined]
            outcome.format = format_of(source.path, head)
            if outcome.format is None:
                yield Rejection(
                    0,
                    "unknown_format",
                    f"cannot tell the format from the name or content; supported: {', '.join(SUPPORTED)}",
                    head,
                )
                return
            if head.startswith(codecs.BOM_UTF8) and outcome.format in ("jsonl", "json", "csv", "tsv", "text"):
                stream.read(len(codecs.BOM_UTF8))  # spreadsheet and Windows exports start with one
            reader = BLOCK_READERS.get(outcome.format) if columnar else None
            for item in (reader or READERS[outcome.format])(stream, cfg):
                position = item.position
                yield item
        except StreamBroken as e:
            yield Rejection(position + 1, e.reason, e.message)


def ingest_files(
    root: DataRoot, run_id: str, files: list[InputFile], cfg: IngestConfig, progress: bool | None = None
) -> IngestResult:
    """Read ``files`` into ``raw`` (one commit), bad rows into ``quarantine``, and record the ledger.

    ``progress=None`` shows a progress bar on stderr only when it is a terminal.
    """
    started = dt.datetime.now(dt.UTC)
    outcomes = [FileOutcome(f) for f in files]
    rejections: list[dict[str, object]] = []
    bar = tqdm(
        total=sum(f.size for f in files),
        unit="B",
        unit_scale=True,
        desc="ingest",
        disable=None if progress is None else not progress,
    )

    def batches() -> Iterator[pa.RecordBatch]:
        for outcome in outcomes:
            source = outcome.input
            default_source = cfg.default_source or source.path.name.split(".")[0]
            builder = BatchBuilder(cfg, run_id, source.name, source.sha256, default_source)
            counting = open_source(source, on_read=bar.update)  # local or object storage
            for item in read_items(source, cfg, outcome, counting, columnar=True):
                if isinstance(item, Columns):
                    found = builder.add_columns(item)
                else:
                    rejection = builder.add(item) if isinstance(item, Fields) else item
                    found = [rejection] if rejection is not None else []
                for rejection in found:
                    outcome.rejected[rejection.reason] += 1
                    rejections.append(_quarantine_row(run_id, source, rejection, started))
                if len(builder) >= cfg.batch_rows or builder.text_bytes >= FLUSH_TEXT_BYTES:
                    yield from _flush(builder, outcome)
            if len(builder):
                yield from _flush(builder, outcome)

    metadata = {"run_id": run_id, "stage": "ingest"}
    # The records are acyclic: the cyclic collector would only rescan the many short-lived ones.
    collecting = gc.isenabled()
    gc.disable()
    try:
        raw_ref = append_parts(root, "raw", batches(), metadata)
    finally:
        if collecting:
            gc.enable()
    bar.close()
    quarantine_ref = (
        root.append("quarantine", pa.Table.from_pylist(rejections, schema.arrow_schema("quarantine")), metadata)
        if rejections
        else root.ref("quarantine")
    )
    ledger_rows = [
        {
            "input_sha256": o.input.sha256,
            "input": o.input.name,
            "format": o.format,
            "size_bytes": o.input.size,
            "records": o.records,
            "quarantined": sum(o.rejected.values()),
            "run_id": run_id,
            "ingested_at": started,
        }
        for o in outcomes
    ]
    ledger_ref = (
        root.append("ledger", pa.Table.from_pylist(ledger_rows, schema.arrow_schema("ledger")), metadata)
        if ledger_rows
        else root.ref("ledger")
    )
    return IngestResult(run_id, raw_ref, quarantine_ref, ledger_ref, outcomes)


def _flush(builder: BatchBuilder, outcome: FileOutcome) -> Iterator[pa.RecordBatch]:
    table = builder.flush()
    outcome.records += table.num_rows
    yield from table.to_batches()


def _quarantine_row(run_id: str, source: InputFile, rejection: Rejection, at: dt.datetime) -> dict[str, object]:
    return {
        "run_id": run_id,
        "input": source.name,
        "input_sha256": source.sha256,
        "position": rejection.position,
        "reason": rejection.reason,
        "message": f"{source.name}: {rejection.message}",
        "original": rejection.original,
        "original_bytes": len(rejection.original),
        "quarantined_at": at,
    }
