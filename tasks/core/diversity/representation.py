r"""Document representations: texts to unit vectors whose dot products are cosine similarities.

A representation is anything with ``fit(texts)`` and ``transform(texts)`` (:class:`Representation`);
``transform`` returns a ``(n, d)`` float32 array whose rows have L2 norm 1, or 0 for a text with no
usable feature.

Default: hashed tf-idf reduced by SVD (LSA)
============================================

1. **Hashed word 1-2 grams.** ``sklearn``'s ``HashingVectorizer`` (lowercase, tokens ``\b\w\w+\b``,
   unigrams and bigrams, ``n_features`` buckets, raw counts) over the first ``max_chars`` characters
   of each text. Stateless, so nothing about the vocabulary has to be stored.
2. **Feature selection.** On the fit sample the ``max_features`` buckets with the highest document
   frequency are kept (ties: smaller bucket first). This bounds the SVD's dense work by
   ``max_features`` instead of ``n_features``, and drops hapaxes that carry no topic signal.
3. **tf-idf.** ``TfidfTransformer(sublinear_tf=True)``: ``(1 + ln tf) · (1 + ln((1 + n) / (1 + df)))``,
   rows L2-normalised; idf is fit on the sample.
4. **LSA.** ``TruncatedSVD`` (randomized, seeded) to ``svd_components`` dimensions, fit on the sample,
   then rows L2-normalised again.

Everything a fitted representation needs is a handful of sklearn estimators and one index array,
which :mod:`tasks.core.diversity.store` saves with skops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

from tasks.core.diversity.config import DiversityConfig
from tasks.core.errors import WellspringError

Texts = Sequence[str | None] | pl.Series

HASHING_BACKEND = "hashing-tfidf-svd"


class DiversityError(WellspringError):
    """The diversity stage cannot run on this input (too few documents, no usable model...)."""


@runtime_checkable
class Representation(Protocol):
    """What the diversity stage needs from a document representation."""

    backend: str

    def fit(self, texts: Texts) -> Representation: ...

    def transform(self, texts: Texts) -> np.ndarray: ...


def as_series(texts: Texts) -> pl.Series:
    """Texts as a String series with nulls as empty strings."""
    s = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
    return s.cast(pl.String).fill_null("")


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to L2 norm 1 (all-zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def hashing_vectorizer(n_features: int) -> HashingVectorizer:
    return HashingVectorizer(
        ngram_range=(1, 2), n_features=n_features, alternate_sign=False, norm=None, dtype=np.float32
    )


class HashedTfidfSvd:
    """The default representation: hashed word 1-2 grams, tf-idf, SVD, unit rows (see module doc)."""

    backend = HASHING_BACKEND

    def __init__(
        self,
        n_features: int = 2**20,
        max_features: int = 2**15,
        n_components: int = 128,
        max_chars: int | None = 2_000,
        fit_sample_size: int = 30_000,
        batch_size: int = 8_192,
        seed: int = 0,
    ) -> None:
        self.vectorizer = hashing_vectorizer(n_features)
        self.max_features = max_features
        self.n_components = n_components
        self.max_chars = max_chars
        self.fit_sample_size = fit_sample_size
        self.batch_size = batch_size
        self.seed = seed
        self.columns: np.ndarray | None = None
        self.tfidf: TfidfTransformer | None = None
        self.svd: TruncatedSVD | None = None

    @classmethod
    def from_config(cls, cfg: DiversityConfig) -> HashedTfidfSvd:
        return cls(
            n_features=cfg.n_features,
            max_features=cfg.max_features,
            n_components=cfg.svd_components,
            max_chars=cfg.max_chars,
            fit_sample_size=cfg.fit_sample_size,
            batch_size=cfg.batch_size,
            seed=cfg.seed,
        )

    @property
    def dim(self) -> int:
        if self.svd is None:
            raise DiversityError("the representation is not fitted")
        return int(self.svd.components_.shape[0])

    def _hashed(self, texts: pl.Series) -> sp.csr_matrix:
        if self.max_chars is not None:
            texts = texts.str.slice(0, self.max_chars)
        return sp.csr_matrix(self.vectorizer.transform(texts.to_list()))

    def fit(self, texts: Texts) -> HashedTfidfSvd:
        series = as_series(texts)
        rng = np.random.default_rng(self.seed)
        if len(series) > self.fit_sample_size:
            series = series.gather(np.sort(rng.choice(len(series), self.fit_sample_size, replace=False)))
        self._fit_counts(self._hashed(series))
        return self

    def fit_transform(self, texts: Texts, fit_rows: np.ndarray) -> np.ndarray:
        """Fit on the rows ``fit_rows`` of ``texts`` and transform all of them, hashing each text once."""
        series = as_series(texts)
        counts = [self._hashed(series.slice(s, self.batch_size)) for s in range(0, len(series), self.batch_size)]
        if not counts:
            raise DiversityError("fitting a representation needs at least 2 documents, got 0")
        self._fit_counts(sp.csr_matrix(sp.vstack(counts))[np.asarray(fit_rows)])
        return np.concatenate([self._project(c) for c in counts])

    def _fit_counts(self, counts: sp.csr_matrix) -> None:
        if counts.shape[0] < 2:
            raise DiversityError(f"fitting a representation needs at least 2 documents, got {counts.shape[0]}")
        document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
        by_frequency = np.argsort(-document_frequency, kind="stable")[: self.max_features]
        self.columns = np.sort(by_frequency[document_frequency[by_frequency] > 0]).astype(np.int64)
        if len(self.columns) < 2:
            raise DiversityError("the texts have fewer than 2 distinct words; nothing to represent")
        selected = counts[:, self.columns]
        self.tfidf = TfidfTransformer(sublinear_tf=True).fit(selected)
        weighted = self.tfidf.transform(selected)
        components = max(1, min(self.n_components, weighted.shape[0] - 1, weighted.shape[1] - 1))
        self.svd = TruncatedSVD(components, algorithm="randomized", n_iter=4, random_state=self.seed).fit(weighted)

    def _project(self, counts: sp.csr_matrix) -> np.ndarray:
        if self.columns is None or self.tfidf is None or self.svd is None:
            raise DiversityError("the representation is not fitted; call fit() or load a stored model")
        return unit_rows(self.svd.transform(self.tfidf.transform(counts[:, self.columns])))

    def transform(self, texts: Texts) -> np.ndarray:
        series = as_series(texts)
        out = np.zeros((len(series), self.dim), dtype=np.float32)
        for start in range(0, len(series), self.batch_size):
            chunk = series.slice(start, self.batch_size)
            out[start : start + len(chunk)] = self._project(self._hashed(chunk))
        return out

    def state(self) -> dict[str, Any]:
        """What the store saves (sklearn estimators, arrays and numbers only)."""
        return {
            "vectorizer": self.vectorizer,
            "columns": self.columns,
            "tfidf": self.tfidf,
            "svd": self.svd,
            "max_chars": self.max_chars,
            "batch_size": self.batch_size,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> HashedTfidfSvd:
        rep = cls(max_chars=state["max_chars"], batch_size=state["batch_size"])
        rep.vectorizer = state["vectorizer"]
        rep.columns = np.asarray(state["columns"], dtype=np.int64)
        rep.tfidf = state["tfidf"]
        rep.svd = state["svd"]
        rep.max_features = len(rep.columns)
        rep.n_components = rep.dim
        return rep


def make_representation(cfg: DiversityConfig) -> Representation:
    """The representation ``cfg`` asks for (the embedding backend is imported only when asked for)."""
    if cfg.backend == "embedding":
        from tasks.core.diversity.embedding import SentenceEmbedding

        assert cfg.embedding_model is not None  # checked by the config
        return SentenceEmbedding(cfg.embedding_model, batch_size=min(cfg.batch_size, 256))
    return HashedTfidfSvd.from_config(cfg)
