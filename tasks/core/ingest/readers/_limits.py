"""Helpers shared by readers: reading whole files under a size cap."""

from __future__ import annotations

from typing import BinaryIO

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import Rejection


def read_capped(stream: BinaryIO, cfg: IngestConfig, limit: int | None = None) -> bytes | Rejection:
    """The whole stream, or a ``file_too_large`` rejection past ``limit`` (default ``max_file_bytes``)."""
    cap = cfg.max_file_bytes if limit is None else limit
    data = stream.read(cap + 1)
    if len(data) > cap:
        return Rejection(
            1,
            "file_too_large",
            f"this format is read whole and the file exceeds {cap} bytes; split it or convert it to JSONL",
            data[: cfg.quarantine_keep_bytes],
        )
    return data
