"""Which reader a file needs, from its name and, where the name is silent or wrong, its first bytes."""

from __future__ import annotations

from pathlib import Path

EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".warc": "warc",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".text": "text",
    ".md": "text",
}
COMPRESSION_SUFFIXES = {".gz", ".gzip", ".zst", ".zstd"}
SUPPORTED = sorted(set(EXTENSIONS.values()))


def format_of(path: Path, head: bytes) -> str | None:
    """The format name of ``path`` given its first decompressed bytes, or ``None`` if unknown."""
    # The magic and the first byte after it (a Thrift field header, 0x15 for every writer): a text line
    # that happens to start with "PAR1" does not turn a JSON Lines file into a broken Parquet file.
    if head.startswith(b"PAR1\x15"):
        return "parquet"
    if head.startswith(b"WARC/"):
        return "warc"
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
    if suffixes and suffixes[-1] in EXTENSIONS:
        return EXTENSIONS[suffixes[-1]]
    lowered = head.lstrip()[:64].lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "html"
    return None
