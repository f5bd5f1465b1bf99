"""WARC files: each HTTP ``response`` record with an HTML payload is one document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from tasks.core.config import IngestConfig
from tasks.core.ingest.items import Item, Rejection, StreamBroken
from tasks.core.ingest.readers.html import html_item

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def read_warc(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item]:
    position = 0
    try:
        for record in ArchiveIterator(_OneRead(stream), check_digests=False):
            if record.rec_type != "response":
                continue  # request, warcinfo and metadata records carry no document
            position += 1
            url = record.rec_headers.get_header("WARC-Target-URI")
            http = record.http_headers
            content_type = (http.get_header("Content-Type") if http else None) or ""
            body = record.content_stream().read(cfg.max_record_bytes + 1)
            if len(body) > cfg.max_record_bytes:
                yield Rejection(
                    position,
                    "record_too_large",
                    f"payload of {url} exceeds ingest.max_record_bytes",
                    body[: cfg.quarantine_keep_bytes],
                )
            elif not content_type.lower().startswith(_HTML_TYPES):
                yield Rejection(
                    position,
                    "unsupported_content_type",
                    f"{url} is {content_type or 'untyped'}, not HTML",
                    body[: cfg.quarantine_keep_bytes],
                )
            else:
                meta = {
                    "warc_record_id": record.rec_headers.get_header("WARC-Record-ID"),
                    "http_last_modified": http.get_header("Last-Modified") if http else None,
                }
                fetched_at = record.rec_headers.get_header("WARC-Date")
                kept = {k: v for k, v in meta.items() if v}
                yield html_item(position, body, cfg, url=url, fetched_at=fetched_at, meta=kept)
    except ArchiveLoadFailed as e:
        raise StreamBroken("corrupt_warc", f"WARC record {position + 1} does not parse: {e}") from e


class _OneRead:
    """``read(n)`` as ``read1(n)``: warcio's block reads then make one read of the decompressed stream each,
    so when the stream breaks, the records decoded before the break have already been handed over."""

    def __init__(self, stream: BinaryIO) -> None:
        self._read1 = getattr(stream, "read1", stream.read)

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._read1(size if size > 0 else 1 << 16)
        return data
