"""Transparent gzip / zstd decompression with a decompression-bomb guard.

The guard counts decompressed bytes as they are read and stops the stream when the total passes
``max_decompressed_bytes``, or when, beyond ``bomb_ratio_floor_bytes``, the ratio of decompressed
to compressed bytes passes ``max_compression_ratio``. Real text compresses about 3-10x; a bomb
compresses 1000x and more.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import BinaryIO

import zstandard

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import StreamBroken

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def compression_of(head: bytes) -> str | None:
    """``"gzip"``, ``"zstd"`` or ``None`` from a file's first bytes (the extension is not trusted)."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


class GuardedStream(io.RawIOBase):
    """A read-only stream over a decompressor that raises :class:`StreamBroken` on bombs and corruption."""

    def __init__(self, inner: BinaryIO, compressed_size: int, cfg: IngestConfig, kind: str) -> None:
        self._inner = inner
        self._compressed_size = max(compressed_size, 1)
        self._cfg = cfg
        self._kind = kind
        self.decompressed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._inner.read(len(buffer))
        except (EOFError, gzip.BadGzipFile, zlib.error, zstandard.ZstdError, OSError) as e:
            truncated = isinstance(e, EOFError) or "end of" in str(e).lower() or "incomplete" in str(e).lower()
            reason = "truncated_input" if truncated else "corrupt_compression"
            raise StreamBroken(
                reason,
                f"the {self._kind} stream ends or breaks early ({e}); re-fetch or re-compress the file",
            ) from e
        n = len(data)
        buffer[:n] = data
        self.decompressed += n
        self._check_bomb()
        return n

    def _check_bomb(self) -> None:
        cfg = self._cfg
        ratio = self.decompressed / self._compressed_size
        if self.decompressed > cfg.max_decompressed_bytes or (
            self.decompressed > cfg.bomb_ratio_floor_bytes and ratio > cfg.max_compression_ratio
        ):
            raise StreamBroken(
                "decompression_bomb",
                f"{self._kind} input expands past the guard ({self.decompressed} bytes, ratio {ratio:.0f}x); "
                "raise ingest.max_decompressed_bytes / max_compression_ratio if the file is genuine",
            )

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_input(path: Path, cfg: IngestConfig, raw: BinaryIO | None = None) -> tuple[BinaryIO, str | None]:
    """Open ``path`` for reading, decompressing gzip or zstd when its magic bytes say so.

    Returns the (buffered) byte stream and the compression name (``None`` for plain files).
    ``raw`` lets the caller pass an already-open, e.g. progress-reporting, file object.
    """
    fh: BinaryIO = raw if raw is not None else open(path, "rb")  # noqa: SIM115 - returned to the caller
    head = fh.read(4)
    fh.seek(0)
    kind = compression_of(head)
    if kind is None:
        return fh, None
    size = path.stat().st_size
    inner: BinaryIO
    if kind == "gzip":
        inner = gzip.GzipFile(fileobj=fh, mode="rb")
    else:
        inner = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True, closefd=True)  # type: ignore[assignment]
    guarded = GuardedStream(inner, size, cfg, kind)
    return io.BufferedReader(guarded, buffer_size=1 << 20), kind  # type: ignore[return-value]
