"""What a reader yields: a record's fields, or a rejection that goes to quarantine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa


@dataclass(frozen=True, slots=True)
class Fields:
    """One input record as read: its 1-based position in the file and its raw fields."""

    position: int
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejection:
    """Something that could not become a record: why, where, and the original bytes.

    ``reason`` is a stable machine-readable slug (``invalid_json``, ``missing_text`` ...);
    ``message`` says, for a person, what is wrong and what to do.
    """

    position: int
    reason: str
    message: str
    original: bytes = b""


@dataclass(frozen=True, slots=True)
class Columns:
    """A block of records read column-wise (the fast path): row ``i`` of ``table`` is the record at
    position ``first + i``, and ``fields(i)`` gives it as the per-record path would have read it
    (used for the rare rows that are rejected, so they keep their exact quarantine entry)."""

    first: int
    table: pa.Table
    fields: Callable[[int], dict[str, Any]]

    @property
    def position(self) -> int:
        """The position of the last record in the block."""
        return self.first + self.table.num_rows - 1


Item = Fields | Rejection


def original_bytes(value: Any, keep: int) -> bytes:
    """``value`` as JSON for a quarantine row, at most ``keep`` bytes; its ``repr`` when JSON cannot hold it
    (orjson stops at 254 levels of nesting, and keys read with ``surrogateescape`` are not UTF-8)."""
    try:
        found = orjson.dumps(value, default=str)
    except orjson.JSONEncodeError:
        found = repr(value).encode("utf-8", "backslashreplace")
    return found[:keep]


class StreamBroken(Exception):
    """Raised inside a reader when the byte stream itself fails (truncated, corrupt, a bomb).

    The driver turns it into a :class:`Rejection` after the records already read."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
