"""One reader per input format. Each takes a decompressed byte stream and yields
:class:`~tasks.core.ingest.items.Fields` or :class:`~tasks.core.ingest.items.Rejection`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import Columns, Item
from tasks.core.ingest.readers import delimited, html, jsonl, parquet, text, warc

Reader = Callable[[BinaryIO, IngestConfig], Iterator[Item]]
BlockReader = Callable[[BinaryIO, IngestConfig], Iterator[Item | Columns]]

READERS: dict[str, Reader] = {
    "jsonl": jsonl.read_jsonl,
    "json": jsonl.read_json,
    "csv": delimited.read_csv,
    "tsv": delimited.read_tsv,
    "parquet": parquet.read_parquet,
    "warc": warc.read_warc,
    "html": html.read_html,
    "text": text.read_text,
}

# The column-wise fast path (same records, in blocks), where a format has one.
BLOCK_READERS: dict[str, BlockReader] = {
    "jsonl": jsonl.read_jsonl_blocks,
    "parquet": parquet.read_parquet_blocks,
}
