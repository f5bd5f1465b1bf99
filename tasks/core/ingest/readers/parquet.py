"""Parquet, streamed by row group batches."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import Fields, Item, Rejection
from tasks.core.ingest.readers._limits import read_capped


def read_parquet(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item]:
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
            for row in batch.to_pylist():
                position += 1
                yield Fields(position, row)
    except (pa.ArrowException, OSError) as e:
        yield Rejection(position + 1, "corrupt_parquet", f"Parquet data breaks after row {position}: {e}")
