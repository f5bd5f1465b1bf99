"""CSV and TSV with a header row. Rows may span lines; each bad row is rejected on its own."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from typing import BinaryIO

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import Fields, Item, Rejection

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def read_csv(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item]:
    return _read(stream, cfg, ",")


def read_tsv(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item]:
    return _read(stream, cfg, "\t")


def _read(stream: BinaryIO, cfg: IngestConfig, delimiter: str) -> Iterator[Item]:
    # surrogateescape keeps invalid bytes recoverable, so one bad row does not end the file.
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
    rows = csv.reader(text, delimiter=delimiter)
    keep = cfg.quarantine_keep_bytes
    try:
        header = next(rows)
    except StopIteration:
        return
    except csv.Error as e:
        yield Rejection(1, "malformed_csv", f"the header row does not parse: {e}")
        return
    position = 0
    while True:
        position += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as e:
            yield Rejection(position, "malformed_csv", f"row does not parse: {e}")
            continue
        if not row:
            continue
        original = delimiter.join(row).encode("utf-8", "surrogateescape")
        if any(_has_surrogates(v) for v in row):
            yield Rejection(position, "invalid_utf8", "row is not valid UTF-8", original[:keep])
        elif len(row) != len(header):
            yield Rejection(
                position,
                "malformed_csv",
                f"row has {len(row)} fields, the header has {len(header)}",
                original[:keep],
            )
        else:
            yield Fields(position, {k: (v if v != "" else None) for k, v in zip(header, row, strict=True)})


def _has_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
