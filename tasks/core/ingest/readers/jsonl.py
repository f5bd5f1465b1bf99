"""JSON Lines (one object per line) and JSON (an array of objects, or objects one per line).

:func:`read_jsonl` reads line by line. :func:`read_jsonl_blocks`, the fast path, reads blocks of
whole lines and parses each block at once with Arrow's JSON reader when the block is plainly
well-formed (every line one object, valid UTF-8, column types Arrow and orjson read alike); any
other block goes through the line-by-line reader, so every bad line keeps its own reason and position.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pa_json

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import Columns, Fields, Item, Rejection, StreamBroken, original_bytes
from tasks.core.ingest.readers._limits import read_capped

BLOCK_BYTES = 8 << 20
# Column types whose Python values are the same whether Arrow or orjson parses the JSON. Not floats
# (parsers may round differently), nested values (Arrow fills absent struct keys), nor timestamps
# (Arrow infers them from strings).
_SAFE_TYPES = (pa.string(), pa.large_string(), pa.int64(), pa.bool_(), pa.null())
_OPEN, _CLOSE, _CR = ord("{"), ord("}"), ord("\r")


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
            original = original_bytes(item, cfg.quarantine_keep_bytes)
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


def read_jsonl_blocks(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item | Columns]:
    """The records of :func:`read_jsonl`, as :class:`Columns` blocks where a block parses cleanly."""
    position = 0
    pending = b""
    read1 = getattr(stream, "read1", stream.read)
    while True:
        parts, size, eof = [pending], len(pending), False
        try:
            while size < BLOCK_BYTES:
                data = read1(BLOCK_BYTES)
                if not data:
                    eof = True
                    break
                parts.append(data)
                size += len(data)
        except StreamBroken:
            data = b"".join(parts)
            for item in _block(data[: data.rfind(b"\n") + 1], position, cfg):
                yield item
            raise
        data = b"".join(parts)
        del parts
        if not data:  # end of input (an empty stream, or the last block ended on a newline)
            return
        cut = len(data) if eof else data.rfind(b"\n") + 1
        if cut == 0:  # no whole line yet
            if len(data) > cfg.max_record_bytes:  # an over-long line: the line reader skips it, bounded
                rest = io.BufferedReader(_Prefixed(data, stream), buffer_size=1 << 20)
                for item in read_jsonl(rest, cfg):
                    yield _shifted(item, position)
                return
            pending = data
            continue
        block, pending = data[:cut], data[cut:]
        del data
        yield from _block(block, position, cfg)
        position += block.count(b"\n") + (not block.endswith(b"\n"))
        if eof:
            return


def _block(block: bytes, position: int, cfg: IngestConfig) -> Iterator[Item | Columns]:
    """The records of ``block`` (whole lines; its first line is line ``position + 1``)."""
    if not block:
        return
    parsed = _parse_block(block, cfg)
    if parsed is None:
        for item in read_jsonl(io.BytesIO(block), cfg):
            yield _shifted(item, position)
        return
    table, starts, ends = parsed
    keep = cfg.quarantine_keep_bytes

    def fields(i: int) -> dict[str, Any]:
        item = _parse_object(block[starts[i] : ends[i]], position + 1 + i, keep)
        assert isinstance(item, Fields)  # the block parsed, so every line is an object
        return item.fields

    yield Columns(position + 1, table, fields)


def _parse_block(block: bytes, cfg: IngestConfig) -> tuple[pa.Table, list[int], list[int]] | None:
    """``block`` parsed by Arrow with each line's start and end, or ``None`` unless every line is one
    JSON object (starts with ``{``, ends with ``}``), the bytes are UTF-8 and the types are safe."""
    data = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(block))
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    if lengths.min() < 2 or lengths.max() > cfg.max_record_bytes or (data[starts] != _OPEN).any():
        return None
    last = data[ends - 1]
    closed = (last == _CLOSE) | ((last == _CR) & (data[ends - 2] == _CLOSE) & (lengths >= 3))
    if not closed.all():
        return None
    try:
        buffer = pa.py_buffer(block)
        offsets = pa.array([0, len(block)], pa.int64()).buffers()[1]
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, buffer]).validate(full=True)
        options = pa_json.ReadOptions(use_threads=False, block_size=len(block) + 1)
        table = pa_json.read_json(io.BytesIO(block), read_options=options)
        dated = [f.name for f in table.schema if pa.types.is_timestamp(f.type)]
        if dated:  # Arrow read these strings as timestamps: read them again as the strings they are
            strings = pa.schema([(name, pa.string()) for name in dated])
            parse = pa_json.ParseOptions(explicit_schema=strings, unexpected_field_behavior="infer")
            table = pa_json.read_json(io.BytesIO(block), read_options=options, parse_options=parse)
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows != len(starts) or any(t not in _SAFE_TYPES for t in table.schema.types):
        return None
    return table, starts.tolist(), ends.tolist()


def _shifted(item: Item, offset: int) -> Item:
    if isinstance(item, Fields):
        return Fields(item.position + offset, item.fields)
    return Rejection(item.position + offset, item.reason, item.message, item.original)


class _Prefixed(io.RawIOBase):
    """``prefix`` then the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = memoryview(prefix)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
