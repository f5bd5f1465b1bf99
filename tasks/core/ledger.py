"""The input ledger: every input file by content hash, so each is processed once.

A file is identified by the SHA-256 of its bytes, not its path: renaming or touching a file does
not make it new, and the same bytes under two names are read once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tasks.core.checksums import sha256_file
from tasks.core.errors import InputError
from tasks.core.storage import DataRoot


@dataclass(frozen=True)
class InputFile:
    path: Path
    sha256: str
    size: int

    @property
    def name(self) -> str:
        return str(self.path)


def list_inputs(paths: Iterable[str | os.PathLike[str]]) -> list[InputFile]:
    """Every file under ``paths`` (folders are walked, hidden files skipped), in a stable order,
    with exact byte copies listed once."""
    files: list[Path] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            files.extend(
                f
                for f in sorted(p.rglob("*"))
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"input {p} does not exist; give a file or a folder")
    seen: set[str] = set()
    found = []
    for f in files:
        sha = sha256_file(f)
        if sha not in seen:
            seen.add(sha)
            found.append(InputFile(f, sha, f.stat().st_size))
    return found


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
