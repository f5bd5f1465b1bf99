"""JSON Lines (one object per line) and JSON (an array of objects, or objects one per line)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import orjson

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import Fields, Item, Rejection
from tasks.core.ingest.readers._limits import read_capped


def read_jsonl(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item]:
    """One record per non-blank line; each bad line is rejected on its own."""
    limit = cfg.max_record_bytes + 1
    keep = cfg.quarantine_keep_bytes
    position = 0
    while True:
        line = stream.readline(limit)
        if not line:
            return
        position += 1
        if len(line) >= limit and not line.endswith(b"\n"):
            size = len(line) + _skip_rest_of_line(stream)
            yield Rejection(
                position,
                "record_too_large",
                f"line is {size} bytes, over ingest.max_record_bytes={cfg.max_record_bytes}",
                line[:keep],
            )
            continue
        if not line.strip():
            continue
        yield _parse_object(line, position, keep)


def read_json(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item]:
    """A JSON array of objects (read whole, up to ``max_file_bytes``), else JSON Lines."""
    first = stream.peek(64)[:64].lstrip()  # type: ignore[attr-defined]
    if not first.startswith(b"["):
        yield from read_jsonl(stream, cfg)
        return
    data = read_capped(stream, cfg)
    if isinstance(data, Rejection):
        yield data
        return
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        yield Rejection(1, "invalid_json", f"the JSON array does not parse: {e}", data[: cfg.quarantine_keep_bytes])
        return
    for position, item in enumerate(items, start=1):
        if isinstance(item, dict):
            yield Fields(position, item)
        else:
            original = orjson.dumps(item)[: cfg.quarantine_keep_bytes]
            yield Rejection(position, "not_an_object", f"array element is a {type(item).__name__}", original)


def _parse_object(line: bytes, position: int, keep: int) -> Item:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as e:
        return Rejection(
            position, "invalid_utf8", f"line is not valid UTF-8 ({e.reason} at byte {e.start})", line[:keep]
        )
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        return Rejection(position, "invalid_json", f"line is not valid JSON: {e}", line[:keep])
    if not isinstance(value, dict):
        return Rejection(
            position, "not_an_object", f"line holds a JSON {type(value).__name__}, not an object", line[:keep]
        )
    return Fields(position, value)


def _skip_rest_of_line(stream: BinaryIO) -> int:
    skipped = 0
    while True:
        chunk = stream.readline(1 << 20)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped
