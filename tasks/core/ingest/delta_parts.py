"""Append a stream of batches to a partitioned Delta table as one commit, with memory bounded by one row group.

``write_deltalake`` given a stream holds each data file in memory until the file is full (about 100 MiB of
Parquet), so an ingest's peak memory grew with its input until that size. Here the batches are written as
Parquet files ("parts") straight into the table's partition folder with pyarrow, a row group at a time, and
the parts are added to the table in one Delta transaction at the end: still one atomic commit per run (a
crash before it leaves only unreferenced files, which readers never see and ``vacuum`` removes), with memory
flat in the input size.

Only local data roots take this path; object storage keeps the streamed ``DataRoot.append``.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from tasks.core import schema
from tasks.core.storage import DataRoot, TableRef, commit_properties

ROW_GROUP_ROWS = 16_384  # as DataRoot.append writes them: streaming readers hold one small group at a time
PART_BYTES = 128 << 20  # a part is closed after about this much Arrow data


def append_parts(
    root: DataRoot, table: str, batches: Iterator[pa.RecordBatch], metadata: Mapping[str, str] | None = None
) -> TableRef:
    """Append ``batches`` (all of one value of the table's partition columns) to ``table`` as one commit.

    No commit when ``batches`` is empty. Falls back to :meth:`DataRoot.append` for object storage, and when
    the batches carry columns the existing table lacks (that append merges the schema)."""
    first = next(batches, None)
    if first is None:
        return root.ref(table)

    def chained() -> Iterator[pa.RecordBatch]:
        yield first
        yield from batches

    target = _table_schema(root, table)
    if not root.is_local or (target is not None and not _fits(first.schema, target)):
        return root.append(table, pa.RecordBatchReader.from_batches(first.schema, chained()), metadata)
    partitions = schema.PARTITIONS.get(table, [])
    writer = _PartWriter(Path(root.uri(table)), partitions, first)
    try:
        for batch in chained():
            writer.write(batch)
        actions = writer.close()
        full = target if target is not None else first.schema
        properties = commit_properties(metadata)
        if target is None:
            create_table_with_add_actions(
                root.uri(table),
                DeltaSchema.from_arrow(full),
                actions,
                mode="append",
                partition_by=partitions or None,
                commit_properties=properties,
            )
        else:
            changes: list[AddAction | RemoveAction] = list(actions)
            DeltaTable(root.uri(table)).create_write_transaction(
                changes, "append", full, partition_by=partitions or None, commit_properties=properties
            )
    except BaseException:
        writer.discard()  # uncommitted parts are invisible anyway; do not leave them behind
        raise
    return root.ref(table)


def _table_schema(root: DataRoot, table: str) -> pa.Schema | None:
    if not root.exists(table):
        return None
    return pa.schema(DeltaTable(root.uri(table)).schema().to_arrow())


def _fits(batch: pa.Schema, table: pa.Schema) -> bool:
    """Whether every column of ``batch`` is in ``table`` with a type the table reads as its own."""
    for field in batch:
        if field.name not in table.names:
            return False
        wanted = table.field(field.name).type
        if field.type != wanted and not (_is_string(field.type) and _is_string(wanted)):
            return False
    return True


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


class _PartWriter:
    """Parquet parts of one partition, each written a row group at a time; their Delta add actions."""

    def __init__(self, folder: Path, partitions: list[str], first: pa.RecordBatch) -> None:
        self._folder = folder
        self._partitions = partitions
        values = {p: first.column(p)[0].as_py() for p in partitions}
        self._values = {p: (None if v is None else str(v)) for p, v in values.items()}
        # Delta keeps partition values in the log and the folder name, not in the data files
        self._relative = "/".join(f"{p}={urllib.parse.quote(str(v), safe='')}" for p, v in self._values.items())
        self._schema = pa.schema([f for f in first.schema if f.name not in partitions])
        self._writer: pq.ParquetWriter | None = None
        self._name = ""
        self._bytes = 0
        self._rows = 0
        self._nulls: dict[str, int] = {}
        self._written: list[Path] = []
        self._actions: list[AddAction] = []

    def write(self, batch: pa.RecordBatch) -> None:
        for p in self._partitions:  # one commit writes one partition: a mixed stream is a bug upstream
            column = batch.column(p)
            if column.null_count or len(column.unique()) > 1 or str(column[0].as_py()) != self._values[p]:
                raise ValueError(f"a batch for partition {self._values} holds other values of {p!r}")
        data = pa.Table.from_batches([batch]).select(self._schema.names).cast(self._schema)
        if self._writer is None:
            self._open()
        assert self._writer is not None
        self._writer.write_table(data, row_group_size=ROW_GROUP_ROWS)
        self._rows += data.num_rows
        self._bytes += data.nbytes
        for name in self._schema.names:
            self._nulls[name] = self._nulls.get(name, 0) + data.column(name).null_count
        if self._bytes >= PART_BYTES:
            self._finish()

    def close(self) -> list[AddAction]:
        if self._writer is not None:
            self._finish()
        return self._actions

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for path in self._written:
            path.unlink(missing_ok=True)

    def _open(self) -> None:
        self._name = f"part-{uuid.uuid4().hex}.zstd.parquet"
        path = self._folder / self._relative / self._name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._written.append(path)
        self._writer = pq.ParquetWriter(path, self._schema, compression="zstd", compression_level=1)
        self._bytes = self._rows = 0
        self._nulls = {}

    def _finish(self) -> None:
        assert self._writer is not None
        self._writer.close()
        self._writer = None
        path = self._written[-1]
        stats = {"numRecords": self._rows, "nullCount": self._nulls}
        self._actions.append(
            AddAction(
                path=f"{self._relative}/{self._name}" if self._relative else self._name,
                size=path.stat().st_size,
                partition_values=self._values,
                modification_time=int(time.time() * 1000),
                data_change=True,
                stats=json.dumps(stats),
            )
        )
