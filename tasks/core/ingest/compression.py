"""Transparent gzip / zstd decompression with a decompression-bomb guard.

Decompression is done chunk by chunk with incremental decoders, so every byte that decodes is
delivered before a truncated or corrupt stream is reported: the good records at the start of a
damaged file still go through. Multi-member gzip and multi-frame zstd are read whole.

The guard counts decompressed bytes and stops the stream when the total passes
``max_decompressed_bytes``, or when, beyond ``bomb_ratio_floor_bytes``, the ratio of decompressed
to compressed bytes passes ``max_compression_ratio``. Real text compresses about 3-10x; a bomb
compresses 1000x and more.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import StreamBroken

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 16
_SLICE = 1 << 9  # bounds the output of one call: zstd RLE blocks expand 128 KiB from 4 bytes
_OUTPUT = 1 << 20  # decoded bytes held at once, about (plus one slice's output)


def compression_of(head: bytes) -> str | None:
    """``"gzip"``, ``"zstd"`` or ``None`` from a file's first bytes (the extension is not trusted)."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


def _decoder(kind: str) -> Any:
    return zlib.decompressobj(wbits=31) if kind == "gzip" else zstandard.ZstdDecompressor().decompressobj()


class DecompressingStream(io.RawIOBase):
    """A read-only decompressed view of a compressed file, guarded against bombs and damage."""

    def __init__(self, compressed: BinaryIO, compressed_size: int, cfg: IngestConfig, kind: str) -> None:
        self._source = compressed
        self._compressed_size = max(compressed_size, 1)
        self._cfg = cfg
        self._kind = kind
        self._decoder = _decoder(kind)
        self._pending = b""
        self._offset = 0  # bytes of ``_pending`` already read
        self._rest = b""  # compressed bytes read from the source but not decoded yet
        self._member_started = False
        self._done = False
        self._failure: StreamBroken | None = None
        self.decompressed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._offset >= len(self._pending) and not self._done:
            self._pending, self._offset = self._decode_next(), 0
        n = min(len(buffer), len(self._pending) - self._offset)
        if n == 0 and self._failure is not None:
            # raised on a read that has nothing else to deliver, so no caller loses decoded bytes with it
            failure, self._failure = self._failure, None
            raise failure
        buffer[:n] = memoryview(self._pending)[self._offset : self._offset + n]
        self._offset += n
        return n

    def _decode_next(self) -> bytes:
        chunk = self._rest or self._source.read(_CHUNK)
        self._rest = b""
        if not chunk:
            self._done = True  # also when the stream ended cleanly
            if self._member_started:
                self._fail(
                    "truncated_input",
                    f"the {self._kind} stream ends early after {self.decompressed} bytes; re-fetch the file",
                )
            return b""
        out: list[bytes] = []
        at = produced = 0
        while at < len(chunk):
            if produced >= _OUTPUT:  # the rest of the chunk waits for the next read: the output stays bounded
                self._rest = chunk[at:]
                break
            # Small slices, each checked: a corrupt slice loses only its own output, and the bomb guard runs
            # before a slice's output can grow (a zstd block of 4 bytes can expand to 128 KiB).
            piece = chunk[at : at + _SLICE]
            at += len(piece)
            try:
                decoded = self._decoder.decompress(piece)
            except (zlib.error, zstandard.ZstdError) as e:
                self._fail(
                    "corrupt_compression",
                    f"the {self._kind} stream is corrupt after {self.decompressed} bytes ({e}); re-fetch the file",
                )
                break
            self.decompressed += len(decoded)
            if self._over_guard():
                break
            out.append(decoded)
            produced += len(decoded)
            self._member_started = not self._decoder.eof
            if self._decoder.eof:
                chunk, at = (self._decoder.unused_data + chunk[at:]).lstrip(b"\x00"), 0  # padding between gzip members
                self._decoder = _decoder(self._kind)
        return b"".join(out)

    def _fail(self, reason: str, message: str) -> None:
        """Stop decoding; the failure is raised once the bytes decoded before it have been read."""
        self._done = True
        self._failure = StreamBroken(reason, message)

    def _over_guard(self) -> bool:
        cfg = self._cfg
        ratio = self.decompressed / self._compressed_size
        if self.decompressed > cfg.max_decompressed_bytes or (
            self.decompressed > cfg.bomb_ratio_floor_bytes and ratio > cfg.max_compression_ratio
        ):
            self._fail(
                "decompression_bomb",
                f"{self._kind} input expands past the guard ({self.decompressed} bytes, ratio {ratio:.0f}x); "
                "raise ingest.max_decompressed_bytes / max_compression_ratio if the file is genuine",
            )
            return True
        return False

    def close(self) -> None:
        self._source.close()
        super().close()


def open_input(path: Path, cfg: IngestConfig, raw: BinaryIO | None = None) -> tuple[BinaryIO, str | None]:
    """Open ``path`` for reading, decompressing gzip or zstd when its magic bytes say so.

    Returns a buffered byte stream and the compression name (``None`` for plain files).
    ``raw`` lets the caller pass an already-open, e.g. progress-reporting, file object.
    """
    fh: BinaryIO = raw if raw is not None else open(path, "rb")  # noqa: SIM115 - returned to the caller
    head = fh.read(4)
    fh.seek(0)
    kind = compression_of(head)
    if kind is None:
        return fh, None
    size = fh.seek(0, io.SEEK_END)  # not path.stat(): the file may be an object in remote storage
    fh.seek(0)
    stream = DecompressingStream(fh, size, cfg, kind)
    return io.BufferedReader(stream, buffer_size=_CHUNK), kind
