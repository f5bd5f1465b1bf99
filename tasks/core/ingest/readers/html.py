"""A single HTML page is one document: its main text, extracted with trafilatura."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from tasks.core.clean.html import extract_html
from tasks.core.config import IngestConfig
from tasks.core.ingest.items import Fields, Item, Rejection
from tasks.core.ingest.readers._limits import read_capped


def read_html(stream: BinaryIO, cfg: IngestConfig) -> Iterator[Item]:
    data = read_capped(stream, cfg)
    if isinstance(data, Rejection):
        yield data
        return
    yield html_item(1, data, cfg)


def html_item(
    position: int,
    html: bytes,
    cfg: IngestConfig,
    url: str | None = None,
    fetched_at: str | None = None,
    meta: dict[str, str] | None = None,
) -> Item:
    """Extract one page into :class:`Fields`, or a ``no_text_extracted`` rejection."""
    page = extract_html(html, url)
    if page is None:
        return Rejection(
            position, "no_text_extracted", "the HTML page has no main text", html[: cfg.quarantine_keep_bytes]
        )
    head = {"title": page.title, "html_generator": page.generator}
    return Fields(
        position,
        {
            "text": page.text,
            "url": url,
            "fetched_at": fetched_at,
            "created_at": page.date,
            "meta": {**(meta or {}), **{k: v for k, v in head.items() if v}},
        },
    )
