"""Each quality rule fires on the text it is meant for and lets real human text through."""

from __future__ import annotations

import polars as pl
import pytest

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
