"""Quality rules in the spirit of Gopher, C4 and FineWeb, as Polars expressions.

Each rule is a named boolean expression that is true when a document *fails*; a document's
reason is the first failing rule, as ``low_quality:<rule>``. The thresholds live in
:class:`~tasks.core.config.QualityConfig`. Measures, per document:

* words: whitespace-separated tokens; mean word length = non-space characters / words;
* symbol ratio: ``#`` plus ``...``/``…`` per word (Gopher);
* alpha words: share of words containing a letter (Gopher);
* stop words: Gopher's eight English stop words, required only in English texts over 20 words;
* line rules over non-empty lines: repeated lines, bullet-led lines, ellipsis-ended lines and
  boilerplate lines (C4: enable-javascript / cookie / lorem ipsum / terms of use notices);
* replacement characters (U+FFFD) per character: text decoded with the wrong codec.
"""

from __future__ import annotations

import polars as pl

from tasks.core.config import QualityConfig
from tasks.core.schema import require

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
_BOILERPLATE = (
    r"(?i)(?:enable|requires?) javascript|javascript (?:is|must be) (?:disabled|enabled|required)"
    r"|(?:uses?|accept) cookies|cookie (?:policy|settings|consent)|lorem ipsum|terms of (?:use|service)"
    r"|privacy policy|all rights reserved"
)
_BULLET = r"^\s*[•\-\*‣●▪◦]"
_ELLIPSIS = r"(?:\.\.\.|…)\s*$"
# The line rules count the lines of the whole text in one pass: in multi-line mode a match starts at a
# line start (``^``) or ends at a line end (``$``), so there is at most one per line, and whitespace other
# than ``\n`` around a line is what stripping the line removes. Equal to testing each stripped,
# non-empty line with the patterns above.
_BULLET_LINES = r"(?m)^[\s&&[^\n]]*[•\-\*‣●▪◦]"
_ELLIPSIS_LINES = r"(?m)(?:\.\.\.|…)[\s&&[^\n]]*$"
_BOILERPLATE_LINES = r"(?im)^[^\n]*?(?:" + _BOILERPLATE.removeprefix("(?i)") + ")"


def _whitespace_chars(text: pl.Expr) -> pl.Expr:
    r"""``text.str.count_matches(r"\s")``, cheaper: spaces and newlines counted as literals."""
    return (
        text.str.count_matches(" ", literal=True)
        + text.str.count_matches("\n", literal=True)
        + text.str.count_matches(r"[\s&&[^ \n]]")
    )


def _line_counts() -> list[pl.Expr]:
    """Non-empty stripped lines and the distinct ones, computed once (Polars does not share a list
    expression between the measures that use it)."""
    lines = (
        pl.col("text")
        .str.split("\n")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    return [lines.list.len().cast(pl.Float64).alias("_lines"), lines.list.n_unique().alias("_unique_lines")]


def _measures() -> list[pl.Expr]:
    """The measures; they read the ``_lines`` and ``_unique_lines`` of :func:`_line_counts`."""
    text = pl.col("text")
    words = text.str.count_matches(r"\S+")
    line_count = pl.col("_lines")
    return [
        words.alias("_words"),
        ((text.str.len_chars() - _whitespace_chars(text)) / words).alias("_mean_word_len"),
        ((text.str.count_matches("#") + text.str.count_matches(r"\.\.\.|…")) / words).alias("_symbol_ratio"),
        # a word with a letter: from its first letter to the word's end, one match per word
        (text.str.count_matches(r"[^\W\d_]\S*") / words).alias("_alpha_ratio"),
        text.str.to_lowercase().str.count_matches(r"\b(?:" + "|".join(STOP_WORDS) + r")\b").alias("_stop_words"),
        (1 - pl.col("_unique_lines") / line_count).alias("_dup_lines"),
        (text.str.count_matches(_BULLET_LINES) / line_count).alias("_bullet_lines"),
        (text.str.count_matches(_ELLIPSIS_LINES) / line_count).alias("_ellipsis_lines"),
        (text.str.count_matches(_BOILERPLATE_LINES) / line_count).alias("_boilerplate"),
        (text.str.count_matches("\ufffd") / text.str.len_chars()).alias("_replacement"),
    ]


def rules(cfg: QualityConfig) -> dict[str, pl.Expr]:
    """The rules in the order they are checked: ``name -> expression true when the document fails``."""
    c = pl.col
    found: dict[str, pl.Expr] = {
        "too_short": c("_words") < cfg.min_words,
        "too_long": c("_words") > cfg.max_words,
        "mojibake": c("_replacement") > cfg.max_replacement_char_ratio,
        "word_length": (c("_mean_word_len") < cfg.min_mean_word_length)
        | (c("_mean_word_len") > cfg.max_mean_word_length),
        "symbol_ratio": c("_symbol_ratio") > cfg.max_symbol_ratio,
        "alpha_words": c("_alpha_ratio") < cfg.min_alpha_word_ratio,
        "no_stop_words": (c("lang") == "en") & (c("_words") > 20) & (c("_stop_words") < cfg.min_stop_words),
        "duplicate_lines": c("_dup_lines") > cfg.max_duplicate_line_ratio,
        "bullet_lines": c("_bullet_lines") > cfg.max_bullet_line_ratio,
        "ellipsis_lines": c("_ellipsis_lines") > cfg.max_ellipsis_line_ratio,
        "boilerplate": c("_boilerplate") > cfg.max_boilerplate_line_ratio,
    }
    if cfg.languages is not None:
        found["language"] = ~c("lang").is_in(list(cfg.languages))
    return found


def quality_verdicts(docs: pl.LazyFrame, cfg: QualityConfig) -> pl.LazyFrame:
    """``docs`` (``record_id``, ``doc_id``, ``text``, ``lang``) -> ``record_id``, ``doc_id``, ``reason``.

    ``reason`` is ``low_quality:<rule>`` for the first rule a document fails, null when it passes.
    """
    require(docs, ("record_id", "doc_id", "text", "lang"), "quality rules")
    failed = pl.coalesce(
        [pl.when(expr.fill_null(False)).then(pl.lit(f"low_quality:{name}")) for name, expr in rules(cfg).items()]
    )
    measured = docs.select("record_id", "doc_id", "text", "lang").with_columns(_line_counts()).with_columns(_measures())
    return measured.select("record_id", "doc_id", failed.alias("reason"))
