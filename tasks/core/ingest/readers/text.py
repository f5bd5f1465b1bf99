"""A plain-text file is one document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import Fields, Item, Rejection
from tasks.core.ingest.readers._limits import read_capped


def read_text(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item]:
    data = read_capped(stream, cfg, cfg.max_record_bytes)
    if isinstance(data, Rejection):
        yield Rejection(1, "record_too_large", data.message, data.original)
        return
    try:
        yield Fields(1, {"text": data.decode("utf-8")})
    except UnicodeDecodeError as e:
        yield Rejection(
            1,
            "invalid_utf8",
            f"text file is not UTF-8 ({e.reason} at byte {e.start}); re-encode it as UTF-8",
            data[: cfg.quarantine_keep_bytes],
        )
