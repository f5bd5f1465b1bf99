"""Unicode and whitespace normalisation, and the document id (hash of the normalised text).

Two keys with different jobs:

* the stored text is NFC-normalised with ``\\r\\n`` line ends turned into ``\\n`` and outer
  whitespace stripped: it reads the same as the input;
* the dedup key is stricter (NFKC, lower case, every whitespace run one space), so copies that
  differ only in case, spacing or compatibility characters share a ``doc_id``.

The expressions (:func:`normalized_text`, :func:`dedup_key`) are the definition. The ``*_series``
functions compute the same values faster on a whole column: Unicode normalisation runs only on the
rows that hold a non-ASCII character (pure ASCII text is already NFC and NFKC, and most text is
ASCII), and whitespace runs are rewritten only where they are not already one space.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
import xxhash

# A whitespace run that is not a single space: what ``\s+ -> " "`` actually changes.
_NOT_ONE_SPACE = r"\s{2,}|[\s&&[^ ]]"


def normalized_text(text: pl.Expr) -> pl.Expr:
    """The text as stored: NFC, ``\\n`` line ends, no outer whitespace."""
    return text.str.normalize("NFC").str.replace_all("\r\n?", "\n").str.strip_chars()


def dedup_key(text: pl.Expr) -> pl.Expr:
    """The exact-dedup key: NFKC, lower case, whitespace runs collapsed to one space."""
    return text.str.normalize("NFKC").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()


def _normalize_non_ascii(texts: pl.Series, form: Literal["NFC", "NFKC"]) -> pl.Series:
    """``texts.str.normalize(form)``, computed only for the rows with a non-ASCII character."""
    rows = (texts.str.len_bytes() != texts.str.len_chars()).arg_true()
    if rows.len() == 0:
        return texts
    return texts.clone().scatter(rows, texts.gather(rows).str.normalize(form))


def normalized_text_series(texts: pl.Series) -> pl.Series:
    """:func:`normalized_text` of a column (the same values)."""
    return _normalize_non_ascii(texts, "NFC").str.replace_all("\r\n?", "\n").str.strip_chars()


def dedup_key_series(texts: pl.Series) -> pl.Series:
    """:func:`dedup_key` of a column (the same values)."""
    return _normalize_non_ascii(texts, "NFKC").str.to_lowercase().str.replace_all(_NOT_ONE_SPACE, " ").str.strip_chars()


def doc_ids(keys: pl.Series) -> pl.Series:
    """128-bit xxh3 hex digests of dedup keys: the ``doc_id`` of each document."""
    digest = xxhash.xxh3_128_hexdigest
    return pl.Series("doc_id", [digest(k.encode("utf-8")) for k in keys.to_list()], dtype=pl.String)


def doc_id_of(text: str) -> str:
    """The ``doc_id`` of one text (the same value :func:`doc_ids` gives)."""
    key = pl.select(dedup_key(normalized_text(pl.lit(text)))).item()
    return doc_ids(pl.Series([key])).item()
