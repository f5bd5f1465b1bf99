"""Personal data in text: e-mail addresses, phone numbers and IP addresses, found and redacted with
Polars regular expressions (no per-document Python).

Redaction replaces each match with a typed placeholder (``<EMAIL>``, ``<PHONE>``, ``<IP>``) so the
text keeps its shape. Patterns favour precision: a phone number needs 9-15 digits in a phone-like
layout, and an IPv4 address four octets of at most 3 digits, so dates, versions and prices survive.
"""

from __future__ import annotations

import polars as pl

PATTERNS: dict[str, str] = {
    "email": r"(?i)\b[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}\b",
    "ip": r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b",
    "phone": r"(?:\+\d{1,3}[ .\-]?)?(?:\(\d{2,4}\)[ .\-]?\d{3,4}[ .\-]\d{3,4}|\b\d{2,4}[ .\-]\d{3,4}[ .\-]\d{3,4})\b",
}
PLACEHOLDER = {"email": "<EMAIL>", "ip": "<IP>", "phone": "<PHONE>"}


def pii_counts(text: pl.Expr, kinds: tuple[str, ...] = tuple(PATTERNS)) -> list[pl.Expr]:
    """One ``pii_<kind>`` count column per kind."""
    return [text.str.count_matches(PATTERNS[k]).alias(f"pii_{k}") for k in kinds]


def redacted(text: pl.Expr, kinds: tuple[str, ...] = tuple(PATTERNS)) -> pl.Expr:
    """``text`` with every match of ``kinds`` replaced by its placeholder (e-mails first, so the
    digits of an address are not read as a phone number)."""
    for kind in kinds:
        text = text.str.replace_all(PATTERNS[kind], PLACEHOLDER[kind])
    return text
