"""What a reader yields: a record's fields, or a rejection that goes to quarantine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


Item = Fields | Rejection


class StreamBroken(Exception):
    """Raised inside a reader when the byte stream itself fails (truncated, corrupt, a bomb).

    The driver turns it into a :class:`Rejection` after the records already read."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
