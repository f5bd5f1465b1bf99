"""Text features for the provenance classifier: how a text is written, with as little of what it is about.

A plain hashed n-gram model reaches ~0.97 ROC-AUC on a random split and then fails on genres it has
not seen (0.54 on man pages): it learns the topics of the machine prompts, not machine style. So the
main block here is **syntax with the topic masked out**: every word that is not a function word is
replaced by its shape, and the classifier sees n-grams (2-4) of that sequence::

    "This quote has been said by all those who have walked in Happiness's path."
    -> "this w has been w by all those who have w in W . "  (with  '  s  and punctuation kept)

Function words (~200 pronouns, determiners, auxiliaries, conjunctions, prepositions, discourse words
such as "here's", "however") carry phrasing and register; shapes (``w`` lower-case, ``W``
capitalised, ``U`` all capitals, ``0`` number), punctuation and line breaks (``NL``) carry layout.
A small, down-weighted block of ordinary word n-grams (1-2) adds lexical cues ("in conclusion",
"delve") at a lower prior weight. Measured alternatives that hurt leave-one-source-out accuracy and
are left out: dense stylometry (punctuation/case rates, sentence-length spread, type-token ratio,
compression ratio; 0.48 on unseen man pages when added), letter-masked character n-grams, and
character n-grams with letters (topic-laden). See ``benchmarks/provenance.py``.

Two dense features from a character language model of the human training texts are appended by
the model (``tasks.core.provenance.charlm``: how unevenly surprising a text is across 128-character
windows, and its share of improbable characters), standardised and weighted ``charlm_weight`` (0.2:
a weak prior, so they tip close cases rather than override the n-grams). They lifted the weakest
leave-one-source-out folds (spamassassin 0.843 -> 0.851, debian-changelogs 0.852 -> 0.871, man pages
0.887 -> 0.927) at a cost on linux-kernel-docs (0.948 -> 0.916), gcide (0.950 -> 0.933) and wordnet
(0.946 -> 0.931); leave-one-out mean 0.950 -> 0.952. Adding the mean log-probability (perplexity) too,
or stacking gradient boosting on the LR score and these features, left spamassassin at 0.83-0.84.

Nothing looks at the length of a text or how it ends (the machine replies stop at a token cap); the
window is a bounded prefix (``max_chars``), and each block is L2-normalised, so counts become rates.

Block weights act as per-block prior scales: with L2-regularised logistic regression, multiplying a
block by ``w`` is the same as dividing its penalty by ``w**2``. Both are 5.5, so the configured
``regularization_c`` of 1 acts as C ~ 30 on unit-norm blocks. Leave-one-out mean ROC-AUC (one
uncalibrated fit per fold) with the word block at half weight: C 1, 10, 30 gave 0.933, 0.944, 0.945;
with equal weights at C 30, 0.951 (min 0.840); the calibrator absorbs the scale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

FEATURE_VERSION = 3

_FUNCTION_WORD_LIST = """
    a about above after again against all also am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves let's i'm you're it's don't can't
    won't isn't here's there's that's we're they're i've you've we've i'll you'll we'll i'd you'd may might must
    shall us one however therefore thus yes oh well really like even still yet ever never always often sometimes
    perhaps maybe
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORD_LIST.split())
_TOKEN = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)?|\d+|[^\w\s]|\n")


def function_word_sequence(text: str) -> str:
    """``text`` as space-separated tokens: function words as themselves, other words by shape, punctuation kept."""
    out = []
    for token in _TOKEN.findall(text):
        first = token[0]
        if first.isalpha():
            lower = token.lower().replace("\u2019", "'")
            if lower in FUNCTION_WORDS:
                out.append(lower)
            else:
                out.append("W" if first.isupper() else "w")
        elif first.isdigit():
            out.append("0")
        elif first == "\n":
            out.append("NL")
        else:
            out.append(token)
    return " ".join(out)


@dataclass(frozen=True)
class FeatureSpec:
    """The shape of the feature space; stored in the model manifest and checked on load."""

    version: int = FEATURE_VERSION
    max_chars: int = 1500
    syntax_features: int = 2**18
    word_features: int = 2**18
    syntax_weight: float = 5.5
    word_weight: float = 5.5
    # the human character language model (``charlm``): its two features, standardised, times this weight
    charlm_bits: int = 22
    charlm_window: int = 128
    charlm_smoothing: float = 2.0
    charlm_rare: float = 0.01
    charlm_weight: float = 0.2

    def to_dict(self) -> dict[str, int | float]:
        return {
            "version": self.version,
            "max_chars": self.max_chars,
            "syntax_features": self.syntax_features,
            "word_features": self.word_features,
            "syntax_weight": self.syntax_weight,
            "word_weight": self.word_weight,
            "charlm_bits": self.charlm_bits,
            "charlm_window": self.charlm_window,
            "charlm_smoothing": self.charlm_smoothing,
            "charlm_rare": self.charlm_rare,
            "charlm_weight": self.charlm_weight,
        }


class Featurizer:
    """Turns texts into one sparse matrix: [function-word/shape n-grams | word n-grams]."""

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self._syntax = HashingVectorizer(
            analyzer="word",
            ngram_range=(2, 4),
            token_pattern=r"\S+",
            lowercase=False,
            n_features=spec.syntax_features,
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

    def transform(self, texts: pl.Series) -> sp.csr_matrix:
        prefixes = self.prefixes(texts).to_list()
        syntax = self._syntax.transform([function_word_sequence(t) for t in prefixes])
        words = self._words.transform(prefixes)
        return sp.hstack(
            [syntax * self.spec.syntax_weight, words * self.spec.word_weight], format="csr", dtype=np.float64
        )
