r"""Which documents a build takes, and why that resists collapse.

The rules, each from the literature on training on generated data:

* **Accumulate, do not replace** (Gerstgrasser et al. 2024): the build's human part comes first
  and synthetic documents are only added on top, up to ``max_synthetic``; they never take a
  human document's place.
* **Keep a share of verified human data** (Alemohammad et al. 2024; Bertrand et al. 2024): at
  least ``min_human`` of the build is reservoir documents, or the build is refused.
* **Weight, do not only filter, by provenance** (Drayson & Lampos 2025): a document's weight
  grows with ``p_human ** p_human_power``.
* **Keep the tails** (Shumailov et al. 2024; Dohmatob et al. 2024): sampling is balanced across
  diversity clusters with a temperature, so a cluster of size ``n_c`` gets mass
  ``∝ n_c ** cluster_temperature`` instead of ``∝ n_c``, and novel documents get
  ``1 + novelty_boost · novelty``.
* **Keep rare words**: ``rarity`` is the share of a document's distinct words (in its first
  1,000 characters) that at most ``rare_df`` documents of the candidate pool use; the weight grows by ``1 + rarity_boost · rarity``,
  so the lexical tail survives sampling (measured: more vocabulary and tail mass than uniform
  sampling of the same size, see the tests).
* **Per-source caps**: no source exceeds ``max_source_share`` of the build.

Sampling without replacement uses Efraimidis-Spirakis keys ``k = u^(1/w)`` with ``u`` drawn
from a hash of ``(seed, doc_id)``: the same seed gives the same build whatever the row order, and
the top ``n`` keys are a weighted sample.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import xxhash

from tasks.core.config import BuildConfig
from tasks.core.errors import WellspringError
from tasks.core.schema import require


class BuildRefused(WellspringError):
    """The request cannot be met from this reservoir version; the message says what to change."""


def uniform_keys(doc_ids: pl.Series, seed: int) -> np.ndarray:
    """A uniform number in (0, 1) per document from ``(seed, doc_id)``: order-independent."""
    raw = np.fromiter(
        (xxhash.xxh64_intdigest(f"{seed}:{d}".encode()) for d in doc_ids.to_list()), dtype=np.uint64, count=len(doc_ids)
    )
    return ((raw >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


_BUCKETS = 1 << 24
WORDS = "_words"  # the column of word buckets a pool may carry instead of its texts
RARITY_CHARS = 1_000


def word_buckets(text: pl.Expr, chars: int = RARITY_CHARS) -> pl.Expr:
    r"""Each text's distinct words (lower-cased ``\w+`` in its first ``chars`` characters), hashed into
    2^24 buckets: a ``List[UInt32]`` per text (null for a null text).

    It is a plain expression so that a streaming scan can compute it batch by batch and drop the text:
    ~44 words per text in the shared corpus, ~180 MB at 1M texts instead of the texts themselves."""
    words = text.str.slice(0, chars).str.to_lowercase().str.extract_all(r"\w+").list.unique()
    return words.list.eval((pl.element().hash(seed=0) % _BUCKETS).cast(pl.UInt32))


def rarity_from_buckets(words: pl.Series, rare_df: int = 2, chunk: int = 100_000) -> np.ndarray:
    """Share of each text's word buckets (see :func:`word_buckets`) that at most ``rare_df`` texts of
    ``words`` use. Two numpy passes of ``chunk`` texts each (document frequencies, then shares), so the
    temporaries stay at a few MB whatever the number of texts."""
    n = len(words)
    df = np.zeros(_BUCKETS, dtype=np.int32)
    for start in range(0, n, chunk):
        flat = words.slice(start, chunk).explode().drop_nulls().to_numpy()
        df += np.bincount(flat, minlength=_BUCKETS).astype(np.int32)
    out = np.zeros(n, dtype=np.float64)
    for start in range(0, n, chunk):
        part = words.slice(start, chunk)
        counts = part.list.len().fill_null(0).to_numpy()
        flat = part.explode().drop_nulls().to_numpy()  # row order: each text's buckets are contiguous
        ends = np.cumsum(counts)
        rare = np.concatenate(([0], np.cumsum(df[flat] <= rare_df)))
        out[start : start + len(counts)] = np.divide(
            rare[ends] - rare[ends - counts], counts, out=np.zeros(len(counts)), where=counts > 0
        )
    return out


def rarity(texts: pl.Series, chars: int = RARITY_CHARS, rare_df: int = 2) -> np.ndarray:
    """Share of each text's distinct words (in its first ``chars`` characters) that at most
    ``rare_df`` texts of ``texts`` use; words are hashed into 2^24 buckets. For texts already in memory;
    a reservoir scan computes :func:`word_buckets` while it streams and calls :func:`rarity_from_buckets`."""
    words = texts.to_frame("t").lazy().select(word_buckets(pl.col("t"), chars)).collect(engine="streaming")
    return rarity_from_buckets(words.to_series(), rare_df)


def weights(docs: pl.DataFrame, cfg: BuildConfig) -> pl.Series:
    """The sampling weight of each document (see the module docstring)."""
    w = pl.lit(1.0)
    if "p_human" in docs.columns and cfg.p_human_power:
        w = w * pl.col("p_human").fill_null(0.5).clip(1e-6, 1.0).pow(cfg.p_human_power)
    if "cluster_id" in docs.columns:
        size = pl.len().over("cluster_id").cast(pl.Float64)
        w = w * size.pow(cfg.cluster_temperature - 1.0)
    if "novelty" in docs.columns and cfg.novelty_boost:
        w = w * (1.0 + cfg.novelty_boost * pl.col("novelty").fill_null(0.0).clip(0.0, None))
    if cfg.rarity_boost and WORDS in docs.columns:  # a reservoir pool: word buckets computed while scanning
        w = w * (1.0 + cfg.rarity_boost * pl.Series(rarity_from_buckets(docs[WORDS])))
    elif cfg.rarity_boost and "text" in docs.columns:
        w = w * (1.0 + cfg.rarity_boost * pl.Series(rarity(docs["text"])))
    return docs.select(w.alias("weight")).to_series()


def weighted_sample(docs: pl.DataFrame, n: int, cfg: BuildConfig, cap_column: str | None = "source") -> pl.DataFrame:
    """``n`` documents drawn by weight without replacement, respecting the per-source cap.

    Returns the chosen rows ordered by their sampling key (a deterministic, shuffled order).
    """
    require(docs, ("doc_id",), "weighted sampling")
    u = uniform_keys(docs["doc_id"], cfg.seed)
    w = weights(docs, cfg).to_numpy()
    keys = pl.Series("_key", np.log(u) / np.maximum(w, 1e-12))
    keyed = docs.drop(WORDS, strict=False).with_columns(
        keys
    )  # the word buckets only serve the weights  # log u^(1/w): same order
    keyed = keyed.sort(["_key", "doc_id"], descending=[True, False])
    if cap_column and cfg.max_source_share is not None and cap_column in keyed.columns:
        cap = max(1, int(cfg.max_source_share * n))
        keyed = keyed.filter(pl.int_range(pl.len()).over(cap_column) < cap)
    return keyed.head(n).drop("_key")


def plan_counts(size: int, available_human: int, available_synthetic: int, cfg: BuildConfig) -> tuple[int, int]:
    """``(human, synthetic)`` counts for a build of ``size``, or :class:`BuildRefused` saying why not."""
    synthetic_cap = min(int(size * cfg.max_synthetic), int(size * (1 - cfg.min_human) + 1e-9), available_synthetic)
    human = size - synthetic_cap
    if human > available_human:
        need_share = human / size
        raise BuildRefused(
            f"the reservoir has {available_human} usable documents but a build of {size} needs {human} "
            f"(human share {need_share:.0%}, --min-human {cfg.min_human}, --max-synthetic {cfg.max_synthetic}); "
            f"lower --size to at most {available_human + synthetic_cap}, or add synthetic data with a higher "
            "--max-synthetic, or wait for more nightly runs"
        )
    return human, synthetic_cap
