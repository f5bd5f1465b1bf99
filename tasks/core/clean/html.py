"""HTML to main text with trafilatura, plus the few head fields provenance needs."""

from __future__ import annotations

import re
from dataclasses import dataclass

import trafilatura

# <meta name="generator" content="..."> in either attribute order; provenance reads it later.
_GENERATOR = re.compile(
    rb"""<meta\s+(?:name=["']generator["']\s+content=["']([^"']*)["']|content=["']([^"']*)["']\s+name=["']generator["'])""",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class HtmlText:
    text: str
    title: str | None
    date: str | None
    generator: str | None


def extract_html(html: bytes, url: str | None = None) -> HtmlText | None:
    """The main text of an HTML page (boilerplate, menus and comments removed), or ``None`` if empty."""
    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True, fast=True
    )
    text = getattr(doc, "text", None)
    if not text:
        return None
    match = _GENERATOR.search(html[:65536])
    generator = (match.group(1) or match.group(2)).decode("utf-8", "replace") if match else None
    return HtmlText(text=text, title=getattr(doc, "title", None), date=getattr(doc, "date", None), generator=generator)
