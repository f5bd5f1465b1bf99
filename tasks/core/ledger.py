"""The input ledger: every input file by content hash, so each is processed once.

A file is identified by the SHA-256 of its bytes, not its path: renaming or touching a file does
not make it new, and the same bytes under two names are read once.

Inputs may be local files and folders or object-store URIs (``s3://bucket/inbox/``): a URI is
listed and read with ``pyarrow.fs`` using the same environment settings as the data root
(:func:`tasks.core.storage.storage_options`), and :func:`open_input` opens either kind.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
import pyarrow.fs as pafs

from tasks.core.checksums import sha256_file
from tasks.core.errors import InputError
from tasks.core.storage import DataRoot, is_remote, object_filesystem

_BLOCK = 1 << 20


@dataclass(frozen=True)
class InputFile:
    """One input: a local file, or an object (``uri`` set) whose ``path`` only carries its name."""

    path: Path
    sha256: str
    size: int
    uri: str | None = None

    @property
    def name(self) -> str:
        return self.uri or str(self.path)

    @property
    def is_remote(self) -> bool:
        return self.uri is not None


def list_inputs(paths: Iterable[str | os.PathLike[str]]) -> list[InputFile]:
    """Every file under ``paths`` (folders and object-store prefixes are walked, hidden files
    skipped), in a stable order, with exact byte copies listed once."""
    found: list[InputFile] = []
    seen: set[str] = set()
    for given in paths:
        files = _remote_files(os.fspath(given)) if is_remote(given) else [(f, None) for f in _local_files(Path(given))]
        for f, uri in files:
            if uri is None:
                sha, size = sha256_file(f), f.stat().st_size
            else:
                sha, size = _remote_sha256(uri)
            if sha not in seen:
                seen.add(sha)
                found.append(InputFile(f, sha, size, uri))
    return found


def _local_files(p: Path) -> list[Path]:
    if p.is_dir():
        return [
            f
            for f in sorted(p.rglob("*"))
            if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
        ]
    if p.is_file():
        return [p]
    raise InputError(f"input {p} does not exist; give a file or a folder")


def open_input(source: InputFile, on_read: Callable[[int], object] | None = None) -> BinaryIO:
    """Open ``source`` for reading as a seekable binary file, local or in object storage.

    ``on_read(n)`` is called with the number of bytes each read returned (a progress bar's
    ``update``). Remote objects are read with ranged requests, so memory stays bounded by the
    caller's buffer, not the object's size.
    """
    raw: io.RawIOBase
    if source.uri is None:
        raw = io.FileIO(source.path, "rb")
    else:
        fs, key = object_filesystem(source.uri)
        try:
            raw = _ArrowRaw(fs.open_input_file(key))
        except OSError as e:
            raise InputError(f"cannot open {source.uri}: {e}") from e
    return io.BufferedReader(_Counting(raw, on_read) if on_read else raw, buffer_size=_BLOCK)


def new_inputs(root: DataRoot, files: list[InputFile]) -> list[InputFile]:
    """The files whose content hash the ledger has not seen."""
    if not files:
        return []
    seen = set(
        root.scan("ledger")
        .filter(pl.col("input_sha256").is_in([f.sha256 for f in files]))
        .select("input_sha256")
        .collect()
        .to_series()
        .to_list()
    )
    return [f for f in files if f.sha256 not in seen]


def _remote_files(uri: str) -> list[tuple[Path, str]]:
    """``(name, uri)`` of every object under ``uri`` (itself, if it is one object), sorted."""
    fs, key = object_filesystem(uri)
    scheme = uri.split("://", 1)[0]
    try:
        info = fs.get_file_info(key)
        if info.type == pafs.FileType.File:
            keys = [key]
        elif info.type == pafs.FileType.Directory:
            listed = fs.get_file_info(pafs.FileSelector(key, recursive=True))
            keys = sorted(
                f.path
                for f in listed
                if f.type == pafs.FileType.File
                and not any(p.startswith(".") for p in f.path[len(key) :].split("/") if p)
            )
        else:
            raise InputError(f"input {uri} does not exist; give an object or a prefix")
    except OSError as e:
        raise InputError(f"cannot list {uri}: {e}") from e
    return [(Path(f"{scheme}://{k}"), f"{scheme}://{k}") for k in keys]


def _remote_sha256(uri: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    fs, key = object_filesystem(uri)
    try:
        with fs.open_input_stream(key, compression=None) as stream:  # the bytes as stored, never decompressed
            while block := stream.read(_BLOCK):
                digest.update(block)
                size += len(block)
    except OSError as e:
        raise InputError(f"cannot read {uri}: {e}") from e
    return digest.hexdigest(), size


class _ArrowRaw(io.RawIOBase):
    """A ``pyarrow`` random-access file as a standard raw binary stream (for ``io.BufferedReader``)."""

    def __init__(self, native: Any) -> None:
        self._native = native

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._native.read(len(buffer))
        n = len(data)
        memoryview(buffer)[:n] = data
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._native.seek(offset, whence))

    def tell(self) -> int:
        return int(self._native.tell())

    def close(self) -> None:
        if not self.closed:
            self._native.close()
        super().close()


class _Counting(io.RawIOBase):
    """A raw stream that reports the bytes each read returned."""

    def __init__(self, raw: io.RawIOBase, on_read: Callable[[int], object]) -> None:
        self._raw, self._on_read = raw, on_read

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def readinto(self, buffer: Any) -> int | None:
        n = self._raw.readinto(buffer)
        if n:
            self._on_read(n)
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()
        super().close()
