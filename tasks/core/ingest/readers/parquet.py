"""Parquet, streamed row group by row group in batches, each row group checked against the decompression
guard from the file's footer before it is decoded."""

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
    for group in range(parquet.num_row_groups):
        meta = parquet.metadata.row_group(group)
        bomb = _bomb_in(meta, cfg)
        if bomb is not None:  # never decoded: every row of the group is quarantined with the reason
            for i in range(meta.num_rows):
                yield Rejection(position + 1 + i, "decompression_bomb", f"row group {group}: {bomb}")
            position += meta.num_rows
            continue
        try:
            # one row group at a time: a damaged group loses itself and what follows, never the groups before it
            for batch in parquet.iter_batches(batch_size=cfg.batch_rows, row_groups=[group]):
                table = pa.Table.from_batches([batch])
                step = max(1, -(-table.num_rows * BLOCK_BYTES // max(table.nbytes, 1)))
                for start in range(0, table.num_rows, step):
                    part = table.slice(start, step)
                    yield Columns(position + start + 1, part, _row_of(part))
                position += batch.num_rows
        except (pa.ArrowException, OSError) as e:
            yield Rejection(position + 1, "corrupt_parquet", f"Parquet data breaks after row {position}: {e}")
            return


def _bomb_in(group: pq.RowGroupMetaData, cfg: IngestConfig) -> str | None:
    """Why reading ``group`` would break the decompression guard, from the footer alone (``None`` if it would not).

    The stream guard never sees inside Parquet, whose pages are compressed on their own: one zstd page can
    hold a 256 MiB value in a few kB. So each column chunk is held to the same limits (total size, and ratio
    beyond ``bomb_ratio_floor_bytes``) before any of it is decoded."""
    for c in range(group.num_columns):
        column = group.column(c)
        size = column.total_uncompressed_size
        ratio = size / max(column.total_compressed_size, 1)
        if size > cfg.max_decompressed_bytes or (
            size > cfg.bomb_ratio_floor_bytes and ratio > cfg.max_compression_ratio
        ):
            return (
                f"column {column.path_in_schema!r} expands to {size} bytes (ratio {ratio:.0f}x), past the "
                "decompression guard; raise ingest.max_decompressed_bytes / max_compression_ratio if it is genuine"
            )
    return None


def _row_of(table: pa.Table) -> Any:
    def row(i: int) -> dict[str, Any]:
        found: dict[str, Any] = table.slice(i, 1).to_pylist()[0]
        return found

    return row
