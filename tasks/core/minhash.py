r"""MinHash near-duplicate detection with LSH banding, verification and deterministic survivors.

Maths
=====

**Jaccard and MinHash.** Two documents are compared as sets of shingles ``A`` and ``B``;
their resemblance is ``J(A, B) = len(A & B) / len(A | B)``. For a random permutation ``π`` of the
shingle hash space, ``P[min π(A) = min π(B)] = J``, so with ``K`` independent permutations the
fraction of equal minima ``Ĵ = (1/K) Σ_k 1[min π_k(A) = min π_k(B)]`` is an unbiased estimate of
``J`` with variance ``J (1 - J) / K`` (about ±0.035 at ``J = 0.8``, ``K = 128``).

**Normalisation and shingles.** Text is lowercased (Unicode default case mapping) and split on
runs of Unicode ``White_Space`` characters (``\t\n\v\f\r``, space, U+0085, U+00A0, U+1680,
U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000); every other character, punctuation
included, belongs to a word. ``shingle="word"`` shingles are the ``n`` consecutive words of each
position; ``shingle="char"`` shingles are ``n`` consecutive characters of the words joined by one
space (whitespace collapsed, ends trimmed). A document with fewer than ``n`` tokens is one shingle
(all its tokens); a document with no token has no shingle and is never anybody's near-duplicate.

**Shingle hash.** Tokens are hashed once and combined arithmetically, so the fast path never
materialises a shingle. For a token with UTF-8 bytes ``c_0 … c_{L-1}``::

    H(t)     = Σ_i (c_i + 1) · K^(L-1-i)            mod 2^64      (K = 0x100000001B3, odd)
    w(t)     = fmix64(H(t)) >> 32                                  (MurmurHash3 64-bit finaliser)
    h(t_1 … t_m) = Σ_j w(t_j) · M^(m-j)             mod 2^32      (M = 0x01000193, odd)

``h`` is :func:`shingle_hash`, a plain Python function that can be given to
``datasketch.MinHash(hashfunc=shingle_hash)``; the vectorised path is bit-identical to it. Token
hashes of a whole chunk come from one prefix sum over its bytes: with
``P(j) = Σ_{t<j} (c_t + 1) · K^(-t)`` (``K`` is invertible modulo ``2^64``), the token occupying
bytes ``[s, e)`` has ``H = K^(e-1) · (P(e) - P(s))``; a space after every document makes the word
bounds the places where "is a word byte" changes. Shingle hashes are ``n`` shifted
multiply-adds over the token-hash array.

**Permutations** (datasketch 2.0 scheme ``"affine32"``, bit for bit): with ``g = fmix32(h)`` (the
MurmurHash3 32-bit finaliser, a bijection) and ``a_k`` odd, ``π_k(s) = a_k · g + b_k mod 2^32``.
``a_k, b_k`` come from ``numpy.random.RandomState(seed)`` exactly as in
``datasketch.MinHash._init_permutations``. A signature is the column-wise minimum over a
document's shingles: per permutation, one multiply-add over a chunk's shingle hashes and a segmented
``np.minimum.reduceat`` (one row of the chunk's signatures). An empty document keeps ``2^32 - 1`` everywhere,
as an empty ``datasketch.MinHash`` does.

**LSH banding.** The signature is cut into ``b`` bands of ``r`` rows; two documents are
candidates when all ``r`` rows of at least one band agree, with probability
``P(s) = 1 - (1 - s^r)^b`` at resemblance ``s``. Unless ``bands``/``rows`` are configured,
``(b, r)`` minimise ``w_fp · ∫_0^t P(s) ds + w_fn · ∫_t^1 (1 - P(s)) ds`` over ``b · r ≤ K``
(datasketch's ``_optimal_param``; the integrals are exact Gauss-Legendre sums, since ``P`` is a
polynomial of degree ``b · r``), with equal weights, or ``(0.05, 0.95)`` when candidates are
verified: verification removes false positives, so the banding is tuned for recall. A band is
hashed to 64 bits (``fmix64(Σ_j (v_j + 1) · K^(r-1-j) mod 2^64)``); per band, one ``argsort`` of
the band hashes groups equal ones into buckets, and every pair inside a bucket is a candidate. A
bucket with more than ``MAX_BUCKET_PAIRS_SIZE`` members is linked as a star around its member with
the smallest ``doc_id`` instead of all pairs, which keeps pathological buckets (thousands of
near-identical boilerplate pages) linear; with ``verify=False`` the connected components are the
same either way.

**Verification.** With ``verify=True`` each candidate pair is checked, in three tiers (all
vectorised). With the margin ``m = 4 · sqrt(t (1 - t) / K)`` (:func:`verify_margin`, 0.141 at
``t = 0.8``, ``K = 128``: four standard deviations of ``Ĵ``):

- ``Ĵ < t - m``: rejected, ``Ĵ ≥ t + m``: kept, on the estimate alone (a wrong call needs a
  4-sigma error, probability about 3e-5 per pair);
- ``t - m ≤ Ĵ < t + m`` and both documents in the batch: kept when the **exact** Jaccard of the
  two shingle-hash sets is ``≥ t`` (:func:`exact_jaccard`). The texts of just these documents are
  hashed again (a fraction of the batch), each set is sorted once as keys ``doc << 32 | h``, and the
  smaller set of every pair is looked up in the larger with one ``searchsorted`` over all pairs;
- a pair with a reservoir (index) document: kept when ``Ĵ ≥ t``. The index stores signatures,
  not texts, so the reservoir text is not rehashed; such a pair keeps the ``±0.035`` noise of
  ``Ĵ`` (at ``t = 0.8``, ``K = 128``).

The exact Jaccard is that of the sets of 32-bit shingle hashes, which equals the Jaccard of the
shingle sets unless two distinct shingles of the pair collide in 32 bits.

**Clusters and survivors.** Clusters are the connected components of the kept pairs (hooking and
pointer jumping in numpy). Each cluster keeps one survivor: a reservoir document first (when
``reservoir_wins``), then the highest ``p_human`` (nulls last), then the earliest ``created_at``
(compared as ISO 8601 strings, nulls last), then the smallest ``doc_id``. Every other member is
removed with ``near_dup_of`` = survivor, ``cluster_id`` = survivor's ``doc_id`` and
``similarity`` = ``Ĵ`` to the survivor. Nothing depends on the input order.

**Two precisions.** Every kept pair is a true pair (up to the 4-sigma tails above), but a cluster
is a connected component, so a member can join through a chain ``A ~ B ~ C`` with ``J(A, C) < t``.
*Pair precision* asks, for every removed document, whether its exact Jaccard to its survivor is
``≥ t`` (one pair per removal: what a reader of ``near_dup_of`` sees). *Cluster precision* asks it of
every pair inside every cluster, and is lower by construction on chains. On 100,000 corpus
documents (``benchmarks/dedup.py``): pair precision 0.98, cluster precision 0.93, recall 1.00 of
pairs with ``J ≥ 0.8`` (with estimate-only verification: 0.88, 0.84 and 0.92).

**Memory and threads.** A LazyFrame input is read in batches; what is held for the whole batch is
``doc_id`` (plus ``p_human`` / ``created_at``), the signatures as one ``(num_perm, n)`` uint32
array (512 bytes a document at 128 permutations) and the band hashes (8 bytes a band). Shingle
hashes live for one chunk of about 1 MB of text. ``workers > 1`` signs chunks on threads.

Incremental use
===============

:func:`signature_rows` gives the rows of the ``signatures`` table (one per admitted document):

============  ===============  =======================================================
column        type             meaning
============  ===============  =======================================================
doc_id        String           the document
sketch        String           hash / permutation parameters (:func:`sketch_key`)
banding       String           ``"<bands>x<rows>"`` the band hashes were made with
signature     Binary           ``num_perm`` little-endian uint32 MinHash values
band_hashes   List(Int64)      one 64-bit hash per band (uint64 bits stored as Int64,
                               because Delta Lake has no unsigned types)
============  ===============  =======================================================

:func:`near_duplicates` takes that table as ``index``, joins the batch's band hashes against
``band_hashes`` and reads ``signature`` only for the reservoir documents that share a bucket with
a batch document. If ``banding`` differs from the configuration the band hashes are recomputed
from the stored signatures (slower, still correct); a different ``sketch`` raises ``ValueError``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from tasks.core.config import MinHashConfig
from tasks.core.errors import SchemaError

__all__ = [
    "HASH_VERSION",
    "MAX_BUCKET_PAIRS_SIZE",
    "VERIFY_WEIGHTS",
    "band_hashes",
    "bands_rows",
    "estimated_jaccard",
    "exact_jaccard",
    "near_duplicates",
    "optimal_bands_rows",
    "permutations",
    "shingle_hash",
    "shingle_hashes",
    "shingles",
    "signature_rows",
    "signatures",
    "sketch_key",
    "token_hash",
    "verify_margin",
]

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

HASH_VERSION: Final = 1
"""Bump when the normalisation or the shingle hash changes: stored signatures become incomparable."""

MAX_BUCKET_PAIRS_SIZE: Final = 256
"""Buckets up to this size yield all their pairs; larger ones a star around their first member."""

_K64: Final = 0x100000001B3
_K64_INV: Final = pow(_K64, -1, 1 << 64)
_M32: Final = 0x01000193
_MASK32: Final = (1 << 32) - 1
_MASK64: Final = (1 << 64) - 1
_MAX32: Final = np.uint32(_MASK32)

_CHUNK_BYTES: Final = 1 << 20  # text bytes per chunk: bounds the per-chunk arrays to a few times this
_CHUNK_DOCS: Final = 10_000
_VERIFY_BLOCK: Final = 1 << 16

_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_WHITESPACE_RE: Final = re.compile(f"[{re.escape(_WHITESPACE)}]+")
_WS_CODEPOINTS_2: Final = np.array([ord(c) for c in _WHITESPACE if 0x80 <= ord(c) < 0x800], dtype=np.int64)
_WS_CODEPOINTS_3: Final = np.array([ord(c) for c in _WHITESPACE if ord(c) >= 0x800], dtype=np.int64)
_UTF8_LEN_LUT: Final = np.array(
    [1] * 0x80 + [1] * 0x40 + [2] * 0x20 + [3] * 0x10 + [4] * 0x10, dtype=np.int64
)  # continuation bytes (0x80-0xBF) never start a character; 1 keeps the table total


# ---------------------------------------------------------------------------------------------------
# Reference (pure Python) shingling and hashing: the definition the vectorised path must match.


def _fmix64_int(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & _MASK64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & _MASK64
    return x ^ (x >> 33)


@lru_cache(maxsize=1 << 16)
def token_hash(token: str) -> int:
    """32-bit hash ``w(t)`` of one token (a word, or one character in ``"char"`` mode)."""
    h = 0
    for c in token.encode("utf-8"):
        h = (h * _K64 + c + 1) & _MASK64
    return _fmix64_int(h) >> 32


def shingle_hash(shingle_words: Sequence[str]) -> int:
    """32-bit hash ``h`` of one shingle given as its tokens; usable as a datasketch ``hashfunc``."""
    h = 0
    for token in shingle_words:
        h = (h * _M32 + token_hash(token)) & _MASK32
    return h


def _tokens(text: str, shingle: str) -> list[str]:
    words = [w for w in _WHITESPACE_RE.split(text.lower()) if w]
    return words if shingle == "word" else list(" ".join(words))


def shingles(text: str, cfg: MinHashConfig) -> list[tuple[str, ...]]:
    """The shingles of one text, in order (with repeats), as token tuples. Slow; for tests and checks."""
    tokens = _tokens(text, cfg.shingle)
    n = cfg.ngram
    if not tokens:
        return []
    if len(tokens) < n:
        return [tuple(tokens)]
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


# ---------------------------------------------------------------------------------------------------
# Vectorised shingle hashes


def _fmix64(x: U64) -> U64:
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def _fmix32(x: U32) -> U32:
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x85EBCA6B)
    x = x ^ (x >> np.uint32(13))
    x = x * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


class _Powers:
    """``K^t`` and ``K^-t`` modulo 2^64 for ``t < size``, grown on demand (at most a chunk's bytes)."""

    def __init__(self) -> None:
        self.both: tuple[U64, U64] = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))

    def get(self, size: int) -> tuple[U64, U64]:
        both = self.both  # one read: a thread growing the tables swaps in both arrays at once
        if size > len(both[0]):
            size = max(size, 2 * len(both[0]))
            both = self._powers(_K64, size), self._powers(_K64_INV, size)
            self.both = both
        return both

    @staticmethod
    def _powers(base: int, size: int) -> U64:
        out = np.ones(size, dtype=np.uint64)
        with np.errstate(over="ignore"):
            np.cumprod(np.full(size - 1, base, dtype=np.uint64), out=out[1:])
        return out


_POWERS: Final = _Powers()


def _utf8_chunk(texts: pl.Series) -> tuple[npt.NDArray[np.uint8], I64]:
    """Lowercased UTF-8 bytes of a chunk of texts, each followed by one space, and the ``n + 1`` offsets:
    document ``i`` is ``data[offsets[i] : offsets[i + 1] - 1]``. The space guarantees a word break
    between documents, so word boundaries are found without looking at document boundaries."""
    lowered = texts.cast(pl.String).fill_null("").str.to_lowercase()
    offsets = np.zeros(len(lowered) + 1, dtype=np.int64)
    np.cumsum(lowered.str.len_bytes().to_numpy() + 1, out=offsets[1:])
    # One bytes object per text, joined once: as fast as reading Arrow buffers for a chunk of about
    # 1 MB, and it keeps pyarrow (a quarter-second import) off the standalone ``wellspring dedup`` path.
    data = np.frombuffer(b" ".join([*lowered.cast(pl.Binary).to_list(), b""]), dtype=np.uint8)
    return data, offsets


def _whitespace_mask(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    # Comparisons, not a lookup table: a uint8 gather costs several times more per byte.
    # ``x - lo <= hi - lo`` tests ``lo <= x <= hi`` in one comparison: uint8 wraps below ``lo``.
    ws = data == 32
    ws |= (data - np.uint8(9)) <= np.uint8(13 - 9)
    high = np.flatnonzero(data >= 0xC2)  # non-ASCII lead bytes: a few percent of a chunk, filtered below
    lead = high[(data[high] == 0xC2) | ((data[high] - np.uint8(0xE1)) <= np.uint8(0xE3 - 0xE1))]
    if len(lead):
        padded = np.concatenate([data, np.zeros(2, dtype=np.uint8)])
        b0 = padded[lead].astype(np.int64)
        b1 = padded[lead + 1].astype(np.int64) & 0x3F
        b2 = padded[lead + 2].astype(np.int64) & 0x3F
        two = lead[(b0 == 0xC2) & np.isin(((b0 & 0x1F) << 6) | b1, _WS_CODEPOINTS_2)]
        three = lead[(b0 != 0xC2) & np.isin(((b0 & 0x0F) << 12) | (b1 << 6) | b2, _WS_CODEPOINTS_3)]
        for k in range(2):
            ws[two + k] = True
        for k in range(3):
            ws[three + k] = True
    return ws


def _token_hashes(data: npt.NDArray[np.uint8], doc_offsets: I64, shingle: str) -> tuple[U32, npt.NDArray[np.intp]]:
    """``w(t)`` of every token of a chunk, in order, and the document index of each token."""
    size = len(data)
    word = ~_whitespace_mask(data)
    # Words alternate with runs of whitespace and the chunk ends with a space (see _utf8_chunk), so the
    # positions where ``word`` changes are a word's start, its end, the next word's start, ...
    change = np.empty(size, dtype=bool)
    change[:1] = word[:1]
    np.not_equal(word[1:], word[:-1], out=change[1:])
    bounds = np.flatnonzero(change)
    word_starts, word_ends = bounds[0::2], bounds[1::2]
    if shingle == "word":
        starts, ends = word_starts, word_ends
        space = None
    else:
        # Characters inside words, plus one space after every word that is not its document's last.
        is_token = word & ((data & 0xC0) != 0x80)
        word_doc = np.searchsorted(doc_offsets, word_starts, side="right") - 1
        not_last = np.flatnonzero(word_doc[:-1] == word_doc[1:])
        is_token[word_ends[not_last]] = True
        starts = np.flatnonzero(is_token)
        space = ~word[starts]
        ends = starts + _UTF8_LEN_LUT[data[starts]]
    pos, neg = _POWERS.get(size + 1)
    prefix = np.zeros(size + 1, dtype=np.uint64)
    terms = prefix[1:]
    with np.errstate(over="ignore"):
        # (c + 1) K^-t, in place; c + 1 fits a byte: UTF-8 never holds 0xFF
        np.multiply(data + np.uint8(1), neg[:size], out=terms)
        np.cumsum(terms, out=terms)
        if space is None:  # words: ``bounds`` interleaves starts and ends, so one gather serves both
            at_bounds = np.take(prefix, bounds)
            raw = at_bounds[1::2] - at_bounds[0::2]
        else:
            raw = prefix[ends] - prefix[starts]
        raw *= np.take(pos, ends - 1)
        hashes = (_fmix64(raw) >> np.uint64(32)).astype(np.uint32)
    if space is not None:
        hashes[space] = token_hash(" ")
    per_doc = np.diff(np.searchsorted(starts, doc_offsets))
    return hashes, np.repeat(np.arange(len(per_doc)), per_doc)


def _shingles_from_tokens(token_hashes: U32, token_docs: npt.NDArray[np.intp], n_docs: int, n: int) -> tuple[U32, I64]:
    """Shingle hashes ``h`` (per document, in order) and the ``n_docs + 1`` offsets into them."""
    total = len(token_hashes)
    counts = np.bincount(token_docs, minlength=n_docs).astype(np.int64)
    token_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(counts, out=token_offsets[1:])
    position = np.arange(total, dtype=np.int64) - token_offsets[token_docs]
    padded = np.concatenate([token_hashes, np.zeros(n - 1, dtype=np.uint32)])
    acc = np.zeros(total, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for j in range(n):
            acc *= np.uint32(_M32)
            acc += padded[j : j + total]
        for k in range(1, n):  # documents shorter than n tokens: one shingle of all their tokens
            first = token_offsets[:-1][counts == k]
            if len(first):
                short = np.zeros(len(first), dtype=np.uint32)
                for j in range(k):
                    short = short * np.uint32(_M32) + token_hashes[first + j]
                acc[first] = short
    doc_count = counts[token_docs]
    keep = (position <= doc_count - n) | ((position == 0) & (doc_count < n))
    shingle_counts = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(shingle_counts, out=offsets[1:])
    return acc[keep], offsets


def _as_series(texts: pl.Series | Sequence[str | None]) -> pl.Series:
    return texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)


def _check_cfg(cfg: MinHashConfig) -> None:
    if not isinstance(cfg, MinHashConfig):
        raise ValueError(f"cfg must be a MinHashConfig, got {type(cfg).__name__}")


def shingle_hashes(texts: pl.Series | Sequence[str | None], cfg: MinHashConfig) -> tuple[U32, I64]:
    """All shingle hashes ``h`` of ``texts`` (CSR layout): ``hashes[offsets[i]:offsets[i+1]]`` are
    document ``i``'s, in order and with repeats. Null texts have no shingle. Memory grows with the
    input; :func:`signatures` streams instead."""
    _check_cfg(cfg)
    series = _as_series(texts)
    parts, offsets = [], [np.zeros(1, dtype=np.int64)]
    total = 0
    for lo, hi in _chunks(series):
        hashes, chunk_offsets = _chunk_shingles(series.slice(lo, hi - lo), cfg)
        parts.append(hashes)
        offsets.append(chunk_offsets[1:] + total)
        total += len(hashes)
    return (np.concatenate(parts) if parts else np.zeros(0, np.uint32)), np.concatenate(offsets)


def _chunk_shingles(texts: pl.Series, cfg: MinHashConfig) -> tuple[U32, I64]:
    data, doc_offsets = _utf8_chunk(texts)
    token_hashes, token_docs = _token_hashes(data, doc_offsets, cfg.shingle)
    return _shingles_from_tokens(token_hashes, token_docs, len(texts), cfg.ngram)


@lru_cache(maxsize=32)
def permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    """``(a, b)`` of datasketch 2.0's ``"affine32"`` scheme (``a`` odd), as ``MinHash(num_perm, seed)``."""
    if num_perm < 1:
        raise ValueError(f"num_perm must be positive, got {num_perm}")
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


def _minhash(hashes: U32, offsets: I64, a: U32, b: U32, out: U32) -> None:
    """Write the signatures (``num_perm`` x documents) of CSR shingle hashes into ``out``, which starts
    at the maximum; the columns of documents without a shingle are left as they are."""
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    if not len(nonempty):
        return
    starts = offsets[nonempty]
    mixed = _fmix32(hashes)
    values = np.empty_like(mixed)
    with np.errstate(over="ignore"):
        # One permutation at a time over the whole chunk: a chunk's hashes (about 0.5 MB) stay in cache,
        # each row's minima are one contiguous reduceat, and there is no column scatter.
        for p in range(len(a)):
            np.multiply(mixed, a[p], out=values)
            values += b[p]
            out[p, nonempty] = np.minimum.reduceat(values, starts)


def _chunks(series: pl.Series) -> list[tuple[int, int]]:
    """Row ranges of at most ``_CHUNK_DOCS`` documents and about ``_CHUNK_BYTES`` of text: a chunk ends
    with the document that crosses a multiple of ``_CHUNK_BYTES``."""
    lengths = series.cast(pl.String).fill_null("").str.len_bytes().to_numpy().astype(np.int64)
    n = len(lengths)
    if not n:
        return []
    before = np.zeros(n, dtype=np.int64)  # bytes of the rows before each row
    np.cumsum(lengths[:-1], out=before[1:])
    block = before // _CHUNK_BYTES
    first = np.arange(n) % _CHUNK_DOCS == 0
    first[1:] |= block[1:] != block[:-1]
    starts = np.flatnonzero(first).tolist()
    return list(zip(starts, [*starts[1:], n], strict=True))


def signatures(texts: pl.Series | Sequence[str | None], cfg: MinHashConfig) -> U32:
    """MinHash signatures, shape ``(len(texts), cfg.num_perm)``, uint32.

    Row ``i`` equals ``datasketch.MinHash(cfg.num_perm, cfg.seed, hashfunc=shingle_hash)`` updated
    with ``shingles(texts[i], cfg)``. Texts are processed in chunks of about 1 MB.
    """
    _check_cfg(cfg)
    series = _as_series(texts)
    out = np.full((cfg.num_perm, len(series)), _MAX32, dtype=np.uint32)
    _sign_into(series, cfg, out)
    return np.ascontiguousarray(out.T)


def _sign_into(series: pl.Series, cfg: MinHashConfig, out: U32, pool: Executor | None = None) -> None:
    """Write the signatures of ``series`` into the columns of ``out`` (``num_perm`` x ``len(series)``),
    chunk by chunk; on ``pool``'s threads when given (numpy and
    Polars release the GIL, and chunks write disjoint columns)."""
    a, b = permutations(cfg.num_perm, cfg.seed)

    def sign(lo: int, hi: int) -> None:
        hashes, offsets = _chunk_shingles(series.slice(lo, hi - lo), cfg)
        # A compact block, copied in once: scattering columns straight into a wide ``out`` strides
        # by its full row length (4 MB at a million documents) on every access.
        block = np.full((len(a), hi - lo), _MAX32, dtype=np.uint32)
        _minhash(hashes, offsets, a, b, block)
        out[:, lo:hi] = block

    if pool is None:
        for lo, hi in _chunks(series):
            sign(lo, hi)
    else:
        for future in [pool.submit(sign, lo, hi) for lo, hi in _chunks(series)]:
            future.result()


# ---------------------------------------------------------------------------------------------------
# LSH


@lru_cache(maxsize=64)
def optimal_bands_rows(
    threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5
) -> tuple[int, int]:
    """``(bands, rows)`` minimising the weighted false positive and negative areas (as datasketch).

    ``P(s)`` is a polynomial of degree ``b · r ≤ num_perm``, so Gauss-Legendre quadrature with
    ``num_perm // 2 + 1`` nodes integrates it exactly (up to rounding); ties go to the first
    ``(b, r)`` in datasketch's loop order, as there."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if num_perm < 1:
        raise ValueError(f"num_perm must be positive, got {num_perm}")
    if fp_weight < 0 or fn_weight < 0 or abs(fp_weight + fn_weight - 1.0) > 1e-9:
        raise ValueError(f"weights must be non-negative and sum to 1, got {fp_weight} and {fn_weight}")
    combos = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    bands = np.array([c[0] for c in combos], dtype=np.float64)[:, None]
    rows = np.array([c[1] for c in combos], dtype=np.float64)[:, None]
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    below = (nodes + 1.0) * (threshold / 2.0)  # nodes mapped onto [0, t] and [t, 1]
    above = threshold + (nodes + 1.0) * ((1.0 - threshold) / 2.0)
    fp = (1.0 - (1.0 - below**rows) ** bands) @ weights * (threshold / 2.0)
    fn = ((1.0 - above**rows) ** bands) @ weights * ((1.0 - threshold) / 2.0)
    return combos[int(np.argmin(fp * fp_weight + fn * fn_weight))]


VERIFY_WEIGHTS: Final = (0.05, 0.95)
"""LSH ``(fp_weight, fn_weight)`` when candidates are verified: a false positive then costs one
signature comparison, a false negative a missed duplicate (at ``t = 0.8``, 128 permutations:
16 x 8 bands, ``P(0.8) = 0.95`` instead of 9 x 13 and ``P(0.8) = 0.40``)."""


def bands_rows(cfg: MinHashConfig) -> tuple[int, int]:
    """The configured ``(bands, rows)``, else the optimum for ``cfg.threshold``: with equal weights
    without verification, with :data:`VERIFY_WEIGHTS` when ``cfg.verify``."""
    if cfg.bands is not None and cfg.rows is not None:
        return cfg.bands, cfg.rows
    weights = VERIFY_WEIGHTS if cfg.verify else (0.5, 0.5)
    return optimal_bands_rows(cfg.threshold, cfg.num_perm, *weights)


def band_hashes(sigs: U32, bands: int, rows: int) -> U64:
    """64-bit hash of each band, shape ``(n, bands)``: equal bands give equal hashes."""
    sigs = np.asarray(sigs)
    if sigs.ndim != 2 or sigs.dtype != np.uint32:
        raise ValueError(f"sigs must be a 2-d uint32 array, got {sigs.dtype} with shape {sigs.shape}")
    if bands < 1 or rows < 1 or bands * rows > sigs.shape[1]:
        raise ValueError(f"bands={bands} x rows={rows} does not fit signatures of width {sigs.shape[1]}")
    values = sigs[:, : bands * rows].reshape(len(sigs), bands, rows)
    acc = np.zeros((len(sigs), bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(rows):
            acc *= np.uint64(_K64)
            acc += values[:, :, j].astype(np.uint64) + np.uint64(1)
        return _fmix64(acc)


def _band_hash_columns(sigs_by_perm: U32, bands: int, rows: int) -> U64:
    """:func:`band_hashes` of a ``(num_perm, n)`` signature array, transposed: shape ``(bands, n)``."""
    n = sigs_by_perm.shape[1]
    out = np.empty((bands, n), dtype=np.uint64)
    values = sigs_by_perm[: bands * rows].reshape(bands, rows, n)
    with np.errstate(over="ignore"):
        for lo in range(0, n, _CHUNK_DOCS):  # column blocks bound the uint64 temporaries
            acc = out[:, lo : lo + _CHUNK_DOCS]
            acc[:] = 0
            for j in range(rows):
                acc *= np.uint64(_K64)
                acc += values[:, j, lo : lo + _CHUNK_DOCS]
                acc += np.uint64(1)
            acc[:] = _fmix64(acc)
    return out


def estimated_jaccard(left: U32, right: U32) -> npt.NDArray[np.float64]:
    """Row-wise fraction of equal MinHash values of two equally shaped signature arrays."""
    if left.shape != right.shape:
        raise ValueError(f"signature shapes differ: {left.shape} and {right.shape}")
    return np.count_nonzero(left == right, axis=-1) / np.float64(left.shape[-1])


def sketch_key(cfg: MinHashConfig) -> str:
    """Everything a stored signature depends on; signatures with different keys are incomparable."""
    return f"wellspring-minhash/{HASH_VERSION} affine32 perm={cfg.num_perm} seed={cfg.seed} {cfg.shingle}={cfg.ngram}"


def _banding(cfg: MinHashConfig) -> str:
    bands, rows = bands_rows(cfg)
    return f"{bands}x{rows}"


def _binary_signatures(sigs: U32) -> pl.Series:
    import pyarrow as pa  # late: only the incremental (index) path needs it

    sigs = np.ascontiguousarray(sigs, dtype="<u4")
    width = sigs.shape[1] * 4
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(sigs), [None, pa.py_buffer(sigs)])
    return pl.Series("signature", fixed.cast(pa.large_binary()), dtype=pl.Binary)


def _decode_signatures(column: pl.Series, num_perm: int) -> U32:
    if len(column) == 0:
        return np.zeros((0, num_perm), dtype=np.uint32)
    width = column.bin.size().unique()
    if len(width) != 1 or width[0] != 4 * num_perm:
        raise SchemaError(f"index signatures must be {4 * num_perm} bytes, found sizes {width.to_list()}")
    arrays = column.bin.reinterpret(dtype=pl.Array(pl.UInt32, num_perm), endianness="little")
    return np.ascontiguousarray(arrays.to_numpy(), dtype=np.uint32)


def signature_rows(doc_ids: Sequence[str] | pl.Series, sigs: U32, cfg: MinHashConfig) -> pl.DataFrame:
    """Rows for the ``signatures`` table (see the module docstring) for documents and their signatures."""
    _check_cfg(cfg)
    ids = doc_ids if isinstance(doc_ids, pl.Series) else pl.Series(list(doc_ids), dtype=pl.String)
    sigs = np.asarray(sigs)
    if sigs.ndim != 2 or sigs.shape != (len(ids), cfg.num_perm) or sigs.dtype != np.uint32:
        raise ValueError(f"sigs must be uint32 of shape ({len(ids)}, {cfg.num_perm}), got {sigs.dtype} {sigs.shape}")
    bands, rows = bands_rows(cfg)
    hashes = band_hashes(sigs, bands, rows).view(np.int64)
    return pl.DataFrame(
        {
            "doc_id": ids.cast(pl.String).rename("doc_id"),
            "sketch": pl.Series([sketch_key(cfg)] * len(ids), dtype=pl.String),
            "banding": pl.Series([f"{bands}x{rows}"] * len(ids), dtype=pl.String),
            "signature": _binary_signatures(sigs),
            "band_hashes": pl.Series(hashes, dtype=pl.Array(pl.Int64, bands)).cast(pl.List(pl.Int64)),
        }
    )


def _band_table(hashes: U64, nodes: npt.NDArray[np.integer]) -> pl.DataFrame:
    """Long ``(node, band, band_hash)`` rows; ``band_hash`` holds the uint64 bits as Int64."""
    n, bands = hashes.shape
    return pl.DataFrame(
        {
            "node": np.repeat(np.asarray(nodes, dtype=np.uint32), bands),
            "band": np.tile(np.arange(bands, dtype=np.uint16), n),
            "band_hash": np.ascontiguousarray(hashes).reshape(-1).view(np.int64),
        }
    )


def _pairs_within(members: I64, sizes: I64) -> tuple[I64, I64]:
    """Every pair of members of each group; groups are consecutive runs of ``members`` of ``sizes``."""
    group_start = np.repeat(np.cumsum(sizes) - sizes, sizes)
    position = np.arange(len(members)) - group_start
    later = np.repeat(sizes, sizes) - 1 - position  # members after this one in its group
    left = np.repeat(np.arange(len(members)), later)
    step = np.arange(len(left)) - np.repeat(np.cumsum(later) - later, later) + 1
    return members[left], members[left + step]


def _candidate_keys(band_columns: list[U64], nodes: I64, priority: I64, n_batch: int) -> I64:
    """Distinct candidate pairs as keys ``lo * size + hi`` (``lo < hi`` node ids), never two index
    nodes (ids ``>= n_batch``). ``band_columns[b][k]`` is band ``b``'s hash of node ``nodes[k]``; a
    bucket larger than :data:`MAX_BUCKET_PAIRS_SIZE` is a star around its lowest-``priority`` member."""
    size = np.int64(len(priority))
    keys = []
    for column in band_columns:
        order = np.argsort(column)
        ordered = column[order]
        starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
        sizes = np.diff(np.append(starts, len(ordered)))
        group = np.repeat(np.arange(len(starts)), sizes)
        members = nodes[order]
        small = (sizes > 1) & (sizes <= MAX_BUCKET_PAIRS_SIZE)
        left, right = _pairs_within(members[small[group]], sizes[small])
        large = np.flatnonzero(sizes > MAX_BUCKET_PAIRS_SIZE)
        if len(large):
            in_large = np.isin(group, large)
            ranks = priority[members]
            lowest = np.minimum.reduceat(ranks, starts)[group]
            centre = members[in_large & (ranks == lowest)]
            spokes = in_large & (ranks != lowest)
            left = np.concatenate([left, np.repeat(centre, sizes[large] - 1)])
            right = np.concatenate([right, members[spokes]])
        lo, hi = np.minimum(left, right), np.maximum(left, right)
        keys.append((lo * size + hi)[lo < n_batch])
    return np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)


def _pair_similarity(sigs: _Signatures, i: I64, j: I64) -> npt.NDArray[np.float64]:
    out = np.empty(len(i), dtype=np.float64)
    for lo in range(0, len(i), _VERIFY_BLOCK):
        hi = lo + _VERIFY_BLOCK
        out[lo:hi] = estimated_jaccard(sigs.rows(i[lo:hi]), sigs.rows(j[lo:hi]))
    return out


class _Signatures:
    """Signatures by node id: batch rows ``0 .. n-1`` (stored ``num_perm`` x ``n``), then the matched
    index documents (stored one per row)."""

    def __init__(self, batch_by_perm: U32, index: U32) -> None:
        self.batch_by_perm, self.index = batch_by_perm, index

    def rows(self, nodes: I64) -> U32:
        """Signatures of ``nodes``, one per row."""
        n = self.batch_by_perm.shape[1]
        in_batch = nodes < n
        out = np.empty((len(nodes), len(self.batch_by_perm)), dtype=np.uint32)
        out[in_batch] = self.batch_by_perm[:, nodes[in_batch]].T
        out[~in_batch] = self.index[nodes[~in_batch] - n]
        return out


def verify_margin(cfg: MinHashConfig) -> float:
    """Half-width of the band around ``cfg.threshold`` in which a batch pair's estimate ``Ĵ`` is not
    trusted and the exact Jaccard decides: 4 standard deviations of ``Ĵ`` at ``J = threshold``."""
    return 4.0 * float(np.sqrt(cfg.threshold * (1.0 - cfg.threshold) / cfg.num_perm))


def _shingle_sets(texts: pl.Series, cfg: MinHashConfig) -> tuple[U64, I64]:
    """Sorted keys ``doc << 32 | h`` of each text's distinct shingle hashes, and the per-text offsets."""
    parts = []
    for lo, hi in _chunks(texts):
        hashes, offsets = _chunk_shingles(texts.slice(lo, hi - lo), cfg)
        docs = np.repeat(np.arange(lo, hi, dtype=np.uint64), np.diff(offsets))
        keys = np.sort((docs << np.uint64(32)) | hashes.astype(np.uint64))
        parts.append(keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys)
    keys = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    bounds = np.searchsorted(keys >> np.uint64(32), np.arange(len(texts) + 1, dtype=np.uint64))
    return keys, bounds.astype(np.int64)


def exact_jaccard(
    texts: pl.Series | Sequence[str | None], left: npt.ArrayLike, right: npt.ArrayLike, cfg: MinHashConfig
) -> npt.NDArray[np.float64]:
    """Exact Jaccard of the shingle-hash sets of ``texts[left[k]]`` and ``texts[right[k]]`` (0 when
    both are empty). Each text is hashed once; the smaller set of a pair is looked up in the larger
    with one ``searchsorted`` over all pairs of a block, so there is no per-pair Python loop."""
    _check_cfg(cfg)
    series = _as_series(texts)
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    if left.shape != right.shape or left.ndim != 1:
        raise ValueError(f"left and right must be 1-d and equally long, got {left.shape} and {right.shape}")
    if len(left) and (min(left.min(), right.min()) < 0 or max(left.max(), right.max()) >= len(series)):
        raise ValueError(f"pair indices must be in [0, {len(series)})")
    keys, bounds = _shingle_sets(series, cfg)
    sizes = np.diff(bounds)
    out = np.zeros(len(left), dtype=np.float64)
    small = np.where(sizes[left] <= sizes[right], left, right)
    large = np.where(sizes[left] <= sizes[right], right, left)
    lookups = sizes[small]
    ends = np.cumsum(lookups)
    lo = 0
    while lo < len(left):  # blocks of about _VERIFY_BLOCK * 64 lookups
        hi = max(lo + 1, int(np.searchsorted(ends, ends[lo] - lookups[lo] + _VERIFY_BLOCK * 64, side="right")))
        count = lookups[lo:hi]
        first = np.repeat(bounds[small[lo:hi]] - (np.cumsum(count) - count), count)
        wanted = keys[first + np.arange(int(count.sum()))] & np.uint64(_MASK32)
        wanted |= np.repeat(large[lo:hi].astype(np.uint64), count) << np.uint64(32)
        found = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        hit = keys[found] == wanted if len(keys) else np.zeros(0, dtype=bool)
        pair = np.repeat(np.arange(hi - lo), count)
        inter = np.bincount(pair, weights=hit, minlength=hi - lo)
        union = sizes[left[lo:hi]] + sizes[right[lo:hi]] - inter
        out[lo:hi] = np.divide(inter, union, out=np.zeros(hi - lo), where=union > 0)
        lo = hi
    return out


def _components(i: I64, j: I64) -> tuple[I64, I64]:
    """Connected components of the edges ``(i[k], j[k])``: the nodes on an edge and a label each
    (the smallest node index of its component, as a position in the returned ``nodes``)."""
    nodes, inverse = np.unique(np.concatenate([i, j]), return_inverse=True)
    a, b = inverse[: len(i)], inverse[len(i) :]
    labels = np.arange(len(nodes))
    while True:  # hook roots onto the smaller root, then compress paths, until every edge agrees
        la, lb = labels[a], labels[b]
        if np.array_equal(la, lb):
            return nodes, labels
        low = np.minimum(la, lb)
        np.minimum.at(labels, la, low)
        np.minimum.at(labels, lb, low)
        while not np.array_equal(jumped := labels[labels], labels):
            labels = jumped


# ---------------------------------------------------------------------------------------------------
# Main entry


_OUTPUT_SCHEMA: Final = {
    "doc_id": pl.String,
    "cluster_id": pl.String,
    "survivor": pl.Boolean,
    "near_dup_of": pl.String,
    "similarity": pl.Float64,
}


def _schema(frame: pl.LazyFrame | pl.DataFrame) -> pl.Schema:
    if isinstance(frame, pl.LazyFrame):
        return frame.collect_schema()
    if isinstance(frame, pl.DataFrame):
        return frame.schema
    raise ValueError(f"docs must be a polars LazyFrame or DataFrame, got {type(frame).__name__}")


def _rank_columns(schema: pl.Schema) -> list[pl.Expr]:
    """``p_human`` (float, NaN as null) and ``created_at`` (string) when present, else nulls."""
    return [
        (pl.col("p_human").cast(pl.Float64).fill_nan(None) if "p_human" in schema else pl.lit(None, pl.Float64)).alias(
            "p_human"
        ),
        (pl.col("created_at").cast(pl.String) if "created_at" in schema else pl.lit(None, pl.String)).alias(
            "created_at"
        ),
    ]


def _text_batches(docs: pl.LazyFrame | pl.DataFrame, size: int = _CHUNK_DOCS) -> Iterator[pl.Series]:
    """The ``text`` column in input order, in batches: a LazyFrame is never collected whole."""
    text = pl.col("text").cast(pl.String)
    if isinstance(docs, pl.DataFrame):
        column = docs.select(text).to_series()
        for lo in range(0, len(column), size):
            yield column.slice(lo, size)
    else:
        for batch in docs.select(text).collect_batches(chunk_size=size):
            yield batch.to_series()


def _gather_texts(docs: pl.LazyFrame | pl.DataFrame, rows: I64) -> pl.Series:
    """The texts of the given input rows (ascending), reading a LazyFrame again in batches."""
    if isinstance(docs, pl.DataFrame):
        return docs.get_column("text").cast(pl.String).gather(rows)
    texts: list[str | None] = []
    lo = 0
    for batch in _text_batches(docs):
        first, last = np.searchsorted(rows, [lo, lo + len(batch)])
        if last > first:  # to Python strings: a gathered string view would keep the batch's buffers alive
            texts.extend(batch.gather(rows[first:last] - lo).to_list())
        lo += len(batch)
    return pl.Series("text", texts, dtype=pl.String)


def _index_matches(
    index: pl.LazyFrame | pl.DataFrame, batch_ids: pl.Series, batch_bands: U64, cfg: MinHashConfig
) -> tuple[pl.DataFrame, U32, U64]:
    """The index documents sharing a bucket with the batch (sorted by doc_id), their signatures and
    band hashes; index rows whose doc_id is in the batch are ignored."""
    if not isinstance(index, pl.LazyFrame | pl.DataFrame):
        raise ValueError(f"index must be a polars LazyFrame or DataFrame, got {type(index).__name__}")
    schema = _schema(index)
    missing = [c for c in ("doc_id", "sketch", "banding", "signature", "band_hashes") if c not in schema]
    if missing:
        raise SchemaError(f"index is missing column(s) {', '.join(missing)}; build it with signature_rows()")
    lazy = index.lazy().filter(~pl.col("doc_id").is_in(batch_ids.implode()))
    keys = lazy.select(pl.col("sketch").unique(), pl.col("banding").unique()).collect()
    sketches, bandings = keys["sketch"].drop_nulls().unique(), keys["banding"].drop_nulls().unique()
    if len(sketches) and sketches.to_list() != [sketch_key(cfg)]:
        raise ValueError(f"index signatures were made with {sketches.to_list()}, not {sketch_key(cfg)!r}")
    bands = batch_bands.shape[1]
    wanted = _band_table(batch_bands, np.zeros(len(batch_bands), dtype=np.uint32)).select("band", "band_hash").unique()
    if bandings.to_list() in ([], [_banding(cfg)]):
        exploded = (
            lazy.select("doc_id", pl.col("band_hashes").list.head(bands).alias("band_hash"))
            .with_columns(pl.int_ranges(pl.col("band_hash").list.len(), dtype=pl.UInt16).alias("band"))
            .explode("band_hash", "band")
        )
        matched = exploded.join(wanted.lazy(), on=["band", "band_hash"], how="semi").select("doc_id").unique()
        rows = lazy.join(matched, on="doc_id", how="semi")
        stored_bands = True
    else:  # stored band hashes are for another banding: recompute them from the stored signatures
        rows, stored_bands = lazy, False
    found = (
        rows.select("doc_id", "signature", *_rank_columns(schema))
        .unique("doc_id", keep="first")
        .sort("doc_id")
        .collect()
    )
    sigs = _decode_signatures(found["signature"], cfg.num_perm)
    hashes = band_hashes(sigs, *bands_rows(cfg))
    if not stored_bands:
        hit = (
            _band_table(hashes, np.arange(len(hashes)))
            .join(wanted, on=["band", "band_hash"], how="semi")["node"]
            .unique()
            .sort()
        )
        keep = hit.to_numpy()
        found, sigs, hashes = found[keep], sigs[keep], hashes[keep]
    return found.drop("signature"), sigs, hashes


def near_duplicates(
    docs: pl.LazyFrame | pl.DataFrame,
    cfg: MinHashConfig,
    index: pl.LazyFrame | pl.DataFrame | None = None,
    *,
    signature_columns: bool = False,
    workers: int = 1,
) -> pl.DataFrame:
    """Near-duplicate clusters of a batch, optionally against a stored reservoir ``index``.

    ``docs`` needs ``doc_id`` (unique strings) and ``text``; ``p_human`` and ``created_at`` are used
    by the survivor rule when present. A LazyFrame is read in batches and never held whole: its
    ``text`` is streamed once for the signatures and once more for the texts of the pairs that need
    exact verification (so it is evaluated up to three times). ``index`` is a ``signatures`` table
    (:func:`signature_rows`); when ``cfg.reservoir_wins`` a batch document near a reservoir document
    is removed in its favour. Reservoir documents are never reported.

    Returns one row per input document, in input order: ``doc_id``, ``cluster_id`` (the survivor's
    ``doc_id``; null for a document with no near-duplicate), ``survivor`` (kept?), ``near_dup_of``
    (null for survivors) and ``similarity`` (estimated Jaccard to the survivor; null for survivors).
    With ``signature_columns=True`` the :func:`signature_rows` columns (``sketch``, ``banding``,
    ``signature``, ``band_hashes``) are appended, ready to store for the admitted documents.
    ``workers > 1`` computes the signatures on that many threads (same result).
    """
    _check_cfg(cfg)
    if workers < 1:
        raise ValueError(f"workers must be positive, got {workers}")
    schema = _schema(docs)
    missing = [c for c in ("doc_id", "text") if c not in schema]
    if missing:
        raise SchemaError(f"docs is missing column(s) {', '.join(missing)}")
    meta = docs.lazy().select(pl.col("doc_id").cast(pl.String), *_rank_columns(schema)).collect()
    if meta["doc_id"].null_count():
        raise SchemaError("docs has null doc_id values")
    if meta["doc_id"].n_unique() != meta.height:
        dup = meta.group_by("doc_id").len().filter(pl.col("len") > 1).sort("doc_id")
        raise SchemaError(f"doc_id must be unique; {dup['doc_id'][0]!r} appears {dup['len'][0]} times")
    n = meta.height
    sigs = np.full((cfg.num_perm, n), _MAX32, dtype=np.uint32)  # by permutation: columns are documents
    lo = 0
    with ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        # A DataFrame is already in memory: one batch, so the threads never wait for a batch's last chunk.
        batch = max(n, 1) if isinstance(docs, pl.DataFrame) else _CHUNK_DOCS * workers
        for texts in _text_batches(docs, batch):
            if lo + len(texts) > n:
                raise SchemaError("docs changed while it was read: more text rows than doc_id rows")
            _sign_into(texts, cfg, sigs[:, lo : lo + len(texts)], pool)
            lo += len(texts)
    if lo != n:
        raise SchemaError(f"docs changed while it was read: {lo} text rows for {n} doc_id rows")
    bands, rows = bands_rows(cfg)
    hashes = _band_hash_columns(sigs, bands, rows)
    nonempty = np.flatnonzero((sigs != _MAX32).any(axis=0))  # no shingle: never a candidate

    if index is not None:
        batch_bands = np.ascontiguousarray(hashes[:, nonempty].T)
        reservoir, reservoir_sigs, reservoir_hashes = _index_matches(index, meta["doc_id"], batch_bands, cfg)
        del batch_bands
    else:
        reservoir = pl.DataFrame(schema={"doc_id": pl.String, "p_human": pl.Float64, "created_at": pl.String})
        reservoir_sigs = np.zeros((0, cfg.num_perm), dtype=np.uint32)
        reservoir_hashes = np.zeros((0, bands), dtype=np.uint64)
    # Nodes: batch rows 0 .. n-1, then the matched index documents. ``priority`` is the doc_id order,
    # so star buckets (and hence the result) do not depend on the input order.
    all_ids = pl.concat([meta["doc_id"], reservoir["doc_id"]])
    priority = all_ids.rank("ordinal").cast(pl.Int64).to_numpy() - 1
    nodes = np.concatenate([nonempty, n + np.arange(reservoir.height)])
    columns = [np.concatenate([hashes[b, nonempty], reservoir_hashes[:, b]]) for b in range(bands)]
    del hashes
    keys = _candidate_keys(columns, nodes, priority, n)
    del columns
    size = len(priority)
    i, j = keys // size, keys % size
    all_sigs = _Signatures(sigs, reservoir_sigs)
    if cfg.verify and len(i):
        i, j = _verify(docs, cfg, all_sigs, i, j, n)
    return _clusters(meta, reservoir, all_sigs, i, j, cfg, signature_columns)


def _verify(
    docs: pl.LazyFrame | pl.DataFrame, cfg: MinHashConfig, sigs: _Signatures, i: I64, j: I64, n_batch: int
) -> tuple[I64, I64]:
    """Candidate pairs kept by verification: ``Ĵ`` decides outside ``threshold ± margin`` and for pairs
    with an index document (its text is not at hand); the exact Jaccard decides the rest."""
    estimate = _pair_similarity(sigs, i, j)
    margin = verify_margin(cfg)
    keep = estimate >= cfg.threshold
    unsure = np.flatnonzero((np.abs(estimate - cfg.threshold) < margin) & (j < n_batch))
    if len(unsure):
        rows, inverse = np.unique(np.concatenate([i[unsure], j[unsure]]), return_inverse=True)
        texts = _gather_texts(docs, rows)
        exact = exact_jaccard(texts, inverse[: len(unsure)], inverse[len(unsure) :], cfg)
        keep[unsure] = exact >= cfg.threshold
    return i[keep], j[keep]


def survivor_order(cfg: MinHashConfig) -> tuple[list[str], list[bool]]:
    """The sort that puts each component's survivor first (``label`` is the component): a reservoir document
    when ``cfg.reservoir_wins``, then the highest ``p_human``, the earliest ``created_at``, the smallest
    ``doc_id``. The partitioned dedup uses the same rule, so both choose the same survivors."""
    if cfg.reservoir_wins:
        return ["label", "in_index", "p_human", "created_at", "doc_id"], [False, True, True, False, False]
    return ["label", "p_human", "created_at", "doc_id"], [False, True, False, False]


def _clusters(
    meta: pl.DataFrame,
    reservoir: pl.DataFrame,
    sigs: _Signatures,
    i: I64,
    j: I64,
    cfg: MinHashConfig,
    signature_columns: bool,
) -> pl.DataFrame:
    """The output rows (see :func:`near_duplicates`) from the kept pairs."""
    n = meta.height
    members = _members(meta, reservoir, *_components(i, j))
    order, descending = survivor_order(cfg)
    survivors = (
        members.sort(order, descending=descending, nulls_last=True)
        .unique("label", keep="first", maintain_order=True)
        .select("label", pl.col("doc_id").alias("cluster_id"), pl.col("node").alias("survivor_node"))
    )
    batch = members.join(survivors, on="label").filter(pl.col("node") < n)
    removed = batch.filter(pl.col("node") != pl.col("survivor_node"))
    similarity = estimated_jaccard(
        sigs.rows(removed["node"].to_numpy()), sigs.rows(removed["survivor_node"].to_numpy())
    )
    result = (
        meta.select("doc_id")
        .with_columns(row=pl.int_range(n, dtype=pl.Int64))
        .join(batch.select(pl.col("node").alias("row"), "cluster_id"), on="row", how="left", maintain_order="left")
        .join(
            removed.select(
                pl.col("node").alias("row"),
                pl.col("cluster_id").alias("near_dup_of"),
                pl.Series("similarity", similarity),
            ),
            on="row",
            how="left",
            maintain_order="left",
        )
        .select("doc_id", "cluster_id", pl.col("near_dup_of").is_null().alias("survivor"), "near_dup_of", "similarity")
        .cast(_OUTPUT_SCHEMA)  # type: ignore[arg-type]
    )
    if signature_columns:
        stored = signature_rows(meta["doc_id"], np.ascontiguousarray(sigs.batch_by_perm.T), cfg).drop("doc_id")
        result = pl.concat([result, stored], how="horizontal")
    return result


def _members(meta: pl.DataFrame, reservoir: pl.DataFrame, nodes: I64, labels: I64) -> pl.DataFrame:
    """``node``, ``label``, ``in_index`` and the survivor-rule columns of the clustered nodes."""
    info = pl.concat(
        [meta.select("doc_id", "p_human", "created_at"), reservoir.select("doc_id", "p_human", "created_at")]
    )
    return info[nodes].with_columns(
        node=pl.Series(nodes, dtype=pl.Int64),
        label=pl.Series(labels, dtype=pl.Int64),
        in_index=pl.Series(nodes >= meta.height),
    )
