"""Text features for the provenance classifier: hashed n-grams plus cheap stylometry.

Every feature is a rate or a ratio over a bounded prefix of the text (``max_chars``), never a raw
length: human documents range from 20 characters to 8,000 while the machine training text stops at
200 tokens, so any length feature would learn the generator's ``max_tokens`` and not its style.
For the same reason nothing looks at how a text *ends* (62% of the machine replies stop
mid-sentence at the token cap, an artefact of how the data was made, not a property of machine text).

- char n-grams (2-4, within word boundaries, case kept): spelling, morphology, markup habits;
- word n-grams (1-2, lowercased): phrasing (``"here's a"``, ``"in conclusion"``, ``"i'm here to"``);
- stylometry (Polars expressions over the whole batch, plus zlib for compressibility): punctuation
  profile, case and digit rates, first/second person rate, function-word rate, type-token ratio on
  the first 100 words, sentence-length mean and spread, line structure, compression ratio.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

FEATURE_VERSION = 1

_PUNCT = {
    "comma": ",",
    "period": r"\.",
    "semicolon": ";",
    "colon": ":",
    "exclaim": "!",
    "question": r"\?",
    "quote": '["\u201c\u201d]',
    "apostrophe": "['\u2019]",
    "paren": r"[()]",
    "dash": "[-\u2013\u2014]",
    "asterisk": r"\*",
    "hash": "#",
    "bracket": r"[\[\]{}<>]",
    "slash": "[/\\\\]",
}
_PERSON = r"(?i)\b(?:i|i'm|i've|i'll|me|my|you|your|you're|we|we're|our|us)\b"
_FUNCTION = (
    r"(?i)\b(?:the|of|and|to|a|in|is|that|it|for|as|with|was|on|be|by|this|are|or|not|from|at|which|but|"
    r"have|an|they|he|she|his|her|their|will|can|would|there|all|so|if|one|what|has|were|been)\b"
)


@dataclass(frozen=True)
class FeatureSpec:
    """The shape of the feature space; stored in the model manifest and checked on load."""

    version: int = FEATURE_VERSION
    max_chars: int = 2000
    char_features: int = 2**18
    word_features: int = 2**18

    def to_dict(self) -> dict[str, int]:
        return {
            "version": self.version,
            "max_chars": self.max_chars,
            "char_features": self.char_features,
            "word_features": self.word_features,
        }


def style_names() -> list[str]:
    return [
        *(f"punct_{name}" for name in _PUNCT),
        "upper_rate",
        "digit_rate",
        "space_rate",
        "newline_rate",
        "non_ascii_rate",
        "mean_word_len",
        "person_rate",
        "function_rate",
        "ttr_100",
        "sentence_words_mean",
        "sentence_words_cv",
        "blank_line_rate",
        "indented_line_rate",
        "list_line_rate",
        "compression_ratio",
    ]


def style_frame(texts: pl.Series) -> pl.DataFrame:
    """Dense stylometric features, one row per text, computed as Polars expressions on the batch."""
    t = pl.col("t")
    chars = t.str.len_chars().cast(pl.Float64).clip(lower_bound=1.0)
    words = t.str.count_matches(r"\S+").cast(pl.Float64).clip(lower_bound=1.0)
    lines = (t.str.count_matches("\n") + 1).cast(pl.Float64)
    sentence_words = (
        t.str.extract_all(r"[^.!?\n]+")
        .list.eval(pl.element().str.count_matches(r"\w+"))
        .list.eval(pl.element().filter(pl.element() > 0))
    )
    first_words = t.str.to_lowercase().str.extract_all(r"\w+").list.head(100)
    exprs = [(t.str.count_matches(pattern) / chars).alias(f"punct_{name}") for name, pattern in _PUNCT.items()]
    exprs += [
        (t.str.count_matches(r"\p{Lu}") / chars).alias("upper_rate"),
        (t.str.count_matches(r"\d") / chars).alias("digit_rate"),
        (t.str.count_matches(" ") / chars).alias("space_rate"),
        (t.str.count_matches("\n") / chars).alias("newline_rate"),
        (t.str.count_matches(r"[^\x00-\x7f]") / chars).alias("non_ascii_rate"),
        (t.str.count_matches(r"\w") / words).alias("mean_word_len"),
        (t.str.count_matches(_PERSON) / words).alias("person_rate"),
        (t.str.count_matches(_FUNCTION) / words).alias("function_rate"),
        (first_words.list.n_unique() / first_words.list.len().clip(lower_bound=1)).alias("ttr_100"),
        sentence_words.list.mean().fill_null(0.0).alias("sentence_words_mean"),
        (sentence_words.list.std().fill_null(0.0) / sentence_words.list.mean().fill_null(1.0).clip(lower_bound=1.0))
        .fill_nan(0.0)
        .alias("sentence_words_cv"),
        (t.str.count_matches(r"\n[ \t]*\n") / lines).alias("blank_line_rate"),
        (t.str.count_matches(r"(?m)^[ \t]+\S") / lines).alias("indented_line_rate"),
        (t.str.count_matches(r"(?m)^[ \t]*(?:[-*•]|\d+[.)])\s") / lines).alias("list_line_rate"),
    ]
    out = pl.DataFrame({"t": texts}).select(exprs)
    raw = [s.encode("utf-8", "replace") for s in texts.to_list()]
    compression = np.array([len(zlib.compress(b, 1)) / max(len(b), 1) for b in raw], dtype=np.float64)
    return out.with_columns(pl.Series("compression_ratio", compression)).fill_null(0.0).fill_nan(0.0)


class Featurizer:
    """Turns texts into one sparse matrix: [char n-grams | word n-grams | stylometry]."""

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self._chars = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 4),
            lowercase=False,
            n_features=spec.char_features,
            alternate_sign=False,
            norm="l2",
            dtype=np.float32,
        )
        self._words = HashingVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            lowercase=True,
            token_pattern=r"(?u)\b\w+\b|[^\w\s]",
            n_features=spec.word_features,
            alternate_sign=False,
            norm="l2",
            dtype=np.float32,
        )

    def prefixes(self, texts: pl.Series) -> pl.Series:
        """The classified window: runs of symbols (table rules, ASCII art) shortened to one mark, then a prefix."""
        return texts.fill_null("").str.replace_all(r"[^\w\s]{4,}", "~~~").str.slice(0, self.spec.max_chars)

    def style(self, texts: pl.Series) -> np.ndarray:
        return style_frame(self.prefixes(texts)).to_numpy().astype(np.float64)

    def transform(self, texts: pl.Series, style_scaled: np.ndarray) -> sp.csr_matrix:
        prefixes = self.prefixes(texts).to_list()
        return sp.hstack(
            [self._chars.transform(prefixes), self._words.transform(prefixes), sp.csr_matrix(style_scaled)],
            format="csr",
            dtype=np.float64,
        ).tocsr()
