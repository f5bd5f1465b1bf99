"""Each quality rule fires on the text it is meant for and lets real human text through."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tasks.core.clean import quality
from tasks.core.clean.quality import quality_verdicts, rules
from tasks.core.config import QualityConfig
from tasks.core.errors import SchemaError
from tests.conftest import SAMPLE

PROSE = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age "
    "of foolishness, it was the epoch of belief, it was the epoch of incredulity, and the season of Light."
)


def reasons(texts: list[str], cfg: QualityConfig | None = None, lang: str = "en") -> list[str | None]:
    docs = pl.LazyFrame(
        {
            "record_id": [str(i) for i in range(len(texts))],
            "doc_id": [str(i) for i in range(len(texts))],
            "text": texts,
            "lang": [lang] * len(texts),
        }
    )
    return quality_verdicts(docs, cfg or QualityConfig()).collect().sort("record_id")["reason"].to_list()


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("two words", "too_short"),
        ("a b c d e f g h i j", "word_length"),
        (
            "Supercalifragilisticexpialidocious antidisestablishmentarianismically pneumonoultramicroscopicsilicovolcanoconiosis",
            "word_length",
        ),
        ("### ### ### ### hello there ### ###", "symbol_ratio"),
        ("12 34 56 78 90 11 22 33 44 55 66 word", "alpha_words"),
        (" ".join(["cat dog bird fish"] * 8), "no_stop_words"),
        ("\n".join(["the same line of text again"] * 6), "duplicate_lines"),
        ("\n".join(f"- item {i} of the list" for i in range(10)), "bullet_lines"),
        ("\n".join(f"and then the story goes on {i}..." for i in range(5)), "ellipsis_lines"),
        (
            "Please enable JavaScript to view this page.\nWe use cookies on this site.\nAll rights reserved 2020.",
            "boilerplate",
        ),
        ("caf\ufffd au lait is \ufffd\ufffd broken \ufffd text", "mojibake"),
    ],
)
def test_rule_fires_on_its_target(text: str, rule: str) -> None:
    assert reasons([text, PROSE]) == [f"low_quality:{rule}", None]


def test_stop_word_rule_applies_only_to_english() -> None:
    text = " ".join(["gato perro pajaro pez"] * 8)
    assert reasons([text], lang="es") == [None]


def test_language_allow_list() -> None:
    assert reasons([PROSE], QualityConfig(languages=("pt",))) == ["low_quality:language"]


def test_thresholds_come_from_config() -> None:
    assert reasons([PROSE], QualityConfig(min_words=100)) == ["low_quality:too_short"]


def test_first_failing_rule_names_the_reason() -> None:
    names = list(rules(QualityConfig()))
    assert names.index("too_short") < names.index("word_length")
    assert reasons(["x"]) == ["low_quality:too_short"]


def test_most_real_human_text_passes() -> None:
    docs = pl.read_ndjson(SAMPLE / "inbox" / "docs-a.jsonl").select(
        pl.col("id").alias("record_id"), pl.col("id").alias("doc_id"), "text", "lang"
    )
    verdicts = quality_verdicts(docs.lazy(), QualityConfig()).collect()
    kept = verdicts["reason"].is_null().mean()
    assert isinstance(kept, float) and kept > 0.9


def test_missing_columns_raise_a_precise_error() -> None:
    with pytest.raises(SchemaError, match="lang"):
        quality_verdicts(pl.LazyFrame({"record_id": ["1"], "doc_id": ["1"], "text": ["hi"]}), QualityConfig())


def _reference_measures() -> list[pl.Expr]:
    """The measures as first written (one regex per line rule over the split lines): the definition the
    faster expressions must keep."""
    text = pl.col("text")
    words = text.str.count_matches(r"\S+")
    lines = (
        text.str.split("\n")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    per_line: dict[str, str | None] = {"_bullet_lines": quality._BULLET, "_ellipsis_lines": quality._ELLIPSIS}
    per_line["_boilerplate"] = quality._BOILERPLATE
    return [
        ((text.str.len_chars() - text.str.count_matches(r"\s")) / words).alias("_mean_word_len"),
        (text.str.count_matches(r"\S*[^\W\d_]\S*") / words).alias("_alpha_ratio"),
        (1 - lines.list.n_unique() / lines.list.len().cast(pl.Float64)).alias("_dup_lines"),
        *[
            (lines.list.eval(pl.element().str.contains(p)).list.sum() / lines.list.len().cast(pl.Float64)).alias(n)
            for n, p in per_line.items()
            if p is not None
        ],
    ]


MEASURE_EDGES = [
    "  • bullet after spaces\n\t- dash\r\n*star\n  plain line\n\n",
    "wait for it...\nand this…  \r\nnot this... one\n...\n......",
    "Please enable JavaScript to continue.\nWe use cookies. Terms of Use apply. Lorem ipsum twice lorem ipsum\n",
    "tabs\tand\u00a0nbsp\u2003em-space\u3000ideographic\x0bvt\x0cff\u2028ls\u0085nel  double  spaces",
    "numbers 123 456,789 _under_ score_1 x2 ½ ⅷ café naïve Ωmega 中文 ١٢٣ a\u0301",
    "",
    "   ",
    "\n\n\n",
    "one",
]


def test_faster_measures_equal_their_definition() -> None:
    texts = [*MEASURE_EDGES, *(p.read_text(encoding="utf-8") for p in sorted((SAMPLE / "inbox" / "notes").glob("*")))]
    frame = pl.DataFrame({"text": texts})
    names = [e.meta.output_name() for e in _reference_measures()]
    got = frame.with_columns(quality._line_counts()).select(quality._measures()).select(names)
    expected = frame.select(_reference_measures())
    assert got.equals(expected), (got, expected)


def test_faster_measures_equal_their_definition_on_the_corpus(corpus: Path) -> None:
    frame = pl.read_parquet(corpus / "human.parquet", columns=["text"]).head(30_000)
    names = [e.meta.output_name() for e in _reference_measures()]
    got = frame.with_columns(quality._line_counts()).select(quality._measures()).select(names)
    assert got.equals(frame.select(_reference_measures()))
