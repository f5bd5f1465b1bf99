r"""Set-level diversity metrics of any set of documents, in one call: :func:`set_metrics`.

Everything is computed on bounded samples, so memory and time depend on ``cfg``, not on the size
of the set: the lexical metrics on about ``lexical_tokens`` tokens, gzip on at most
``compression_bytes`` bytes, Vendi and pairwise cosine on ``sample_size`` documents. All samples
are drawn with ``numpy.random.default_rng(cfg.seed)``, so a fixed seed gives identical numbers.

Maths
=====

**Tokens.** Lowercased text, tokens are maximal runs of Unicode word characters (``\w+``).

**Lexical sample.** Documents are taken in a seeded random order until ``lexical_tokens`` tokens
are collected; the token stream is cut at exactly ``lexical_tokens`` (all tokens when the set has
fewer). A fixed token budget makes sets of different sizes comparable: distinct-n, vocabulary and
entropy all grow with the amount of text.

* ``distinct_n`` (n = 1, 2, 3) = distinct n-grams / n-grams, n-grams not crossing documents
  (Li et al. 2016). N-grams are compared by a 64-bit hash (``h(t_1..t_n) = Σ h(t_j) P^(n-j)``
  mod 2^64); a collision among a few million n-grams has probability below 1e-6.
* ``unigram_entropy`` = ``-Σ p_w log2 p_w`` over the sample's unigram frequencies (bits).
* ``tail_mass`` = share of tokens whose word is not among the ``top_k`` most frequent ones.
* ``vocabulary_size`` = distinct unigrams in the sample.

**Compression ratio** = UTF-8 bytes / gzip bytes (level 6) of the lexical sample's documents (at most
``compression_bytes``), concatenated in sorted order so that repeated and templated documents fall
inside gzip's 32 KiB window. Higher is more redundant (Shaib et al. 2024).

**Cluster entropy** (when ``clusters`` is given) = ``-Σ p_c ln p_c / ln K`` over the share of
documents in each cluster, with ``K = max(cfg.n_clusters, clusters seen)``: 1 when documents spread
evenly over all clusters, 0 when they all sit in one.

**Near-duplicate rate** (when ``near_dup`` is given) = share of documents flagged.

**Vendi score** (Friedman & Dieng 2023) on a uniform sample of ``sample_size`` documents with unit
vectors ``x_i`` (the given ``representation``, else tf-idf of hashed word 1-2 grams fit on the
sample) and cosine kernel ``K = X Xᵀ``: ``VS = exp(-Σ λ_i ln λ_i)`` with ``λ_i`` the eigenvalues of
``K / tr K``. With unit rows ``tr K = n``, which is the reference ``K / n``; ``n`` identical items give
1 and ``n`` orthogonal items give ``n``. Texts without any feature (zero rows) drop out of the trace.
The non-zero eigenvalues of ``X Xᵀ`` and ``Xᵀ X`` are equal, so the smaller of the two is used.

**Mean pairwise cosine** on the same sample = ``(‖Σ x_i‖² - tr K) / (n (n - 1))``.
"""

from __future__ import annotations

import dataclasses
import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from tasks.core.diversity.config import DiversityConfig
from tasks.core.diversity.representation import Representation, Texts, as_series, hashing_vectorizer

TOKEN = r"\w+"
_NGRAM_MULTIPLIER = np.uint64(0x100000001B3)


@dataclass(frozen=True)
class DiversityMetrics:
    """Diversity of one set of documents (see the module doc for each definition)."""

    documents: int
    tokens: int  # tokens in the lexical sample
    sample_documents: int  # documents in the Vendi / cosine sample
    distinct_1: float
    distinct_2: float
    distinct_3: float
    compression_ratio: float
    unigram_entropy: float
    tail_mass: float
    vocabulary_size: int
    cluster_entropy: float | None
    near_duplicate_rate: float | None
    vendi_score: float
    mean_pairwise_cosine: float | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]


@dataclass(frozen=True)
class Lexicon:
    """The lexical sample's unigram counts (descending), for rank-frequency plots."""

    tokens: int
    counts: np.ndarray  # int64, most frequent first

    def frequencies(self) -> np.ndarray:
        return self.counts / max(1, self.tokens)


def set_metrics(
    texts: Texts,
    cfg: DiversityConfig,
    clusters: Sequence[int] | pl.Series | np.ndarray | None = None,
    near_dup: Sequence[bool] | pl.Series | np.ndarray | None = None,
    representation: Representation | None = None,
) -> DiversityMetrics:
    """All diversity metrics of ``texts``; ``clusters`` and ``near_dup`` align with ``texts`` when given."""
    return measure(texts, cfg, clusters, near_dup, representation)[0]


def measure(
    texts: Texts,
    cfg: DiversityConfig,
    clusters: Sequence[int] | pl.Series | np.ndarray | None = None,
    near_dup: Sequence[bool] | pl.Series | np.ndarray | None = None,
    representation: Representation | None = None,
) -> tuple[DiversityMetrics, Lexicon]:
    """:func:`set_metrics` and the lexical sample's unigram counts (one pass for a report)."""
    series = as_series(texts)
    n = len(series)
    for name, values in (("clusters", clusters), ("near_dup", near_dup)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values)} values for {n} texts")
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(n)
    lexical, lexicon = _lexical(series, order, cfg)
    vendi, cosine, sampled = _similarity(series, rng, cfg, representation)
    return (
        DiversityMetrics(
            documents=n,
            tokens=lexicon.tokens,
            sample_documents=sampled,
            distinct_1=lexical["distinct_1"],
            distinct_2=lexical["distinct_2"],
            distinct_3=lexical["distinct_3"],
            compression_ratio=_compression_ratio(series, order, cfg),
            unigram_entropy=lexical["entropy"],
            tail_mass=lexical["tail_mass"],
            vocabulary_size=len(lexicon.counts),
            cluster_entropy=None if clusters is None else cluster_entropy(clusters, cfg.n_clusters),
            near_duplicate_rate=None if near_dup is None else _rate(near_dup),
            vendi_score=vendi,
            mean_pairwise_cosine=cosine,
        ),
        lexicon,
    )


def _rate(flags: Sequence[bool] | pl.Series | np.ndarray) -> float:
    values = np.asarray(flags.to_numpy() if isinstance(flags, pl.Series) else flags, dtype=bool)
    return float(values.mean()) if len(values) else 0.0


def _lexical(series: pl.Series, order: np.ndarray, cfg: DiversityConfig) -> tuple[dict[str, float], Lexicon]:
    # only the sample is lowercased and split: memory follows lexical_tokens, not the size of the set
    lengths = series.str.count_matches(TOKEN).fill_null(0).to_numpy()[order]
    take = order[: int(np.searchsorted(np.cumsum(lengths), cfg.lexical_tokens)) + 1]
    tokens = series.gather(take).str.to_lowercase().str.extract_all(TOKEN)
    per_doc = tokens.list.len().fill_null(0).to_numpy()
    words = tokens.explode().drop_nulls().head(cfg.lexical_tokens)
    m = len(words)
    if m == 0:
        return {"distinct_1": 0.0, "distinct_2": 0.0, "distinct_3": 0.0, "entropy": 0.0, "tail_mass": 0.0}, Lexicon(
            0, np.zeros(0, dtype=np.int64)
        )
    doc = np.repeat(np.arange(len(per_doc)), per_doc)[:m]
    hashes = words.hash(seed=cfg.seed).to_numpy()
    result = {f"distinct_{k}": _distinct(hashes, doc, k) for k in (1, 2, 3)}
    counts = np.sort(pl.Series(hashes).value_counts()["count"].to_numpy().astype(np.int64))[::-1]
    p = counts / m
    result["entropy"] = float(-(p * np.log2(p)).sum())
    result["tail_mass"] = float(counts[cfg.top_k :].sum() / m)
    return result, Lexicon(m, counts)


def _distinct(hashes: np.ndarray, doc: np.ndarray, n: int) -> float:
    count = len(hashes) - n + 1
    if count <= 0:
        return 0.0
    keys = hashes[:count].copy()
    for j in range(1, n):
        keys = keys * _NGRAM_MULTIPLIER + hashes[j : j + count]
    within = doc[:count] == doc[n - 1 : n - 1 + count]
    total = int(within.sum())
    return pl.Series(keys[within]).n_unique() / total if total else 0.0


def _compression_ratio(series: pl.Series, order: np.ndarray, cfg: DiversityConfig) -> float:
    sizes = series.str.len_bytes().fill_null(0).to_numpy()[order] + 1
    take = order[: max(1, int(np.searchsorted(np.cumsum(sizes), cfg.compression_bytes, side="right")))]
    raw = "\n".join(series.gather(take).sort().to_list()).encode()[: cfg.compression_bytes]
    return len(raw) / len(gzip.compress(raw, compresslevel=6, mtime=0)) if raw else 0.0


def cluster_entropy(clusters: Sequence[int] | pl.Series | np.ndarray, n_clusters: int) -> float:
    """Entropy of the cluster shares, divided by ``ln max(n_clusters, clusters seen)`` (0..1)."""
    values = clusters if isinstance(clusters, pl.Series) else pl.Series("cluster", np.asarray(clusters))
    counts = values.drop_nulls().value_counts()["count"].to_numpy().astype(np.float64)
    k = max(n_clusters, len(counts))
    if counts.sum() == 0 or k < 2:
        return 0.0
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum() / np.log(k))


def _similarity(
    series: pl.Series, rng: np.random.Generator, cfg: DiversityConfig, representation: Representation | None
) -> tuple[float, float | None, int]:
    n = len(series)
    if n == 0:
        return 0.0, None, 0
    picked = series.gather(np.sort(rng.choice(n, min(n, cfg.sample_size), replace=False)))
    vectors = representation.transform(picked) if representation is not None else _sample_tfidf(picked, cfg)
    return vendi_score(vectors), mean_pairwise_cosine(vectors), len(picked)


def _sample_tfidf(texts: pl.Series, cfg: DiversityConfig) -> sp.csr_matrix:
    if cfg.max_chars is not None:
        texts = texts.str.slice(0, cfg.max_chars)
    counts = hashing_vectorizer(cfg.n_features).transform(texts.to_list())
    return sp.csr_matrix(TfidfTransformer(sublinear_tf=True).fit_transform(counts))


def vendi_score(vectors: np.ndarray | sp.spmatrix | sp.sparray) -> float:
    """Vendi score of the rows of ``vectors`` under the cosine kernel (rows should have norm 1 or 0)."""
    n, d = vectors.shape
    if n == 0:
        return 0.0
    if sp.issparse(vectors):
        x = sp.csr_matrix(vectors, dtype=np.float64)
        gram = (x @ x.T).toarray() if n <= d else (x.T @ x).toarray()
    else:
        x64 = np.asarray(vectors, dtype=np.float64)
        gram = x64 @ x64.T if n <= d else x64.T @ x64
    return vendi_score_from_kernel(gram)


def vendi_score_from_kernel(kernel: np.ndarray) -> float:
    """``exp`` of the Shannon entropy of the eigenvalues of ``kernel / trace(kernel)`` (symmetric PSD)."""
    trace = float(np.trace(kernel))
    if trace <= 0:
        return 0.0
    eigenvalues = np.clip(np.linalg.eigvalsh(kernel / trace), 0.0, None)
    eigenvalues = eigenvalues[eigenvalues > 1e-12]
    eigenvalues = eigenvalues / eigenvalues.sum()
    return float(np.exp(-(eigenvalues * np.log(eigenvalues)).sum()))


def mean_pairwise_cosine(vectors: np.ndarray | sp.spmatrix | sp.sparray) -> float | None:
    """Mean of ``x_i · x_j`` over pairs ``i != j`` (None for fewer than 2 rows)."""
    n = vectors.shape[0]
    if n < 2:
        return None
    if sp.issparse(vectors):
        x = sp.csr_matrix(vectors, dtype=np.float64)
        total = np.asarray(x.sum(axis=0)).ravel()
        trace = float(x.multiply(x).sum())
    else:
        x64 = np.asarray(vectors, dtype=np.float64)
        total = x64.sum(axis=0)
        trace = float((x64 * x64).sum())
    return float((total @ total - trace) / (n * (n - 1)))
