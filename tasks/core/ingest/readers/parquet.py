"""Parquet, streamed by row group batches."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import Columns, Fields, Item, Rejection
from tasks.core.ingest.readers._limits import read_capped

BLOCK_BYTES = 8 << 20  # a batch of long documents is handed on in slices of about this size


def read_parquet(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item]:
    """One :class:`Fields` per row."""
    for item in read_parquet_blocks(stream, cfg):
        if isinstance(item, Columns):
            for i, row in enumerate(item.table.to_pylist()):
                yield Fields(item.first + i, row)
        else:
            yield item


def read_parquet_blocks(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item | Columns]:
    """One :class:`Columns` block per batch of ``ingest.batch_rows`` rows (the fast path)."""
    source: BinaryIO = stream
    if not stream.seekable():  # compressed Parquet: the footer needs random access
        data = read_capped(stream, cfg)
        if isinstance(data, Rejection):
            yield data
            return
        source = io.BytesIO(data)
    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as e:
        yield Rejection(1, "corrupt_parquet", f"not a readable Parquet file: {e}")
        return
    position = 0
    try:
        for batch in parquet.iter_batches(batch_size=cfg.batch_rows):
            table = pa.Table.from_batches([batch])
            step = max(1, -(-table.num_rows * BLOCK_BYTES // max(table.nbytes, 1)))
            for start in range(0, table.num_rows, step):
                part = table.slice(start, step)
                yield Columns(position + start + 1, part, _row_of(part))
            position += batch.num_rows
    except (pa.ArrowException, OSError) as e:
        yield Rejection(position + 1, "corrupt_parquet", f"Parquet data breaks after row {position}: {e}")


def _row_of(table: pa.Table) -> Any:
    def row(i: int) -> dict[str, Any]:
        found: dict[str, Any] = table.slice(i, 1).to_pylist()[0]
        return found

    return row
