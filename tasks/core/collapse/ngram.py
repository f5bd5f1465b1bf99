r"""A word-level bigram language model with interpolated Kneser-Ney smoothing, fit and sampled with numpy.

It is the smallest model that shows the text side of model collapse: it learns the words and the word
pairs of its training texts, forgets every word it did not see, and when it is trained on its own
samples the rare words go first.

Tokens
======

Lower-cased text split into maximal runs of word characters and single other non-space characters
(``\w+|[^\w\s]``). Every document ends with the boundary token ``</s>`` (id 0), which is also the
context of a document's first word. Token ids come from one :class:`Vocabulary` shared by every model
of an experiment, so counts of different models line up.

Model
=====

With ``c(v, w)`` the bigram counts of the training stream, ``c(v) = Σ_w c(v, w)``,
``N₁₊(v•)`` the number of distinct successors of ``v`` and ``N₁₊(•w)`` the number of distinct
predecessors of ``w`` (Kneser & Ney 1995; Chen & Goodman 1998, interpolated form)::

    P(w | v)   = max(c(v, w) - d, 0) / c(v)  +  λ(v) · P_cont(w)
    λ(v)       = d · N₁₊(v•) / c(v)                      (1 for a context never seen)
    P_cont(w)  = N₁₊(•w) / N₁₊(••)

so ``Σ_w P(w | v) = 1``. The model's vocabulary (support) is the set of words it was trained on:
it gives every other word probability 0 and never emits one.

**Perplexity** on held-out text needs a probability for every word, so evaluation mixes a floor
into the continuation distribution, ``(1 - ε) · P_cont(w) + ε / |V_ref|`` with ``|V_ref|`` the size of
the experiment's reference vocabulary (fixed when the vocabulary is built). A word the model has
forgotten then costs ``-ln(λ(v) ε / |V_ref|)`` nats instead of infinity: perplexity rises as the
vocabulary shrinks, comparably across models. ``PPL = exp(-(1/N) Σ ln P(w_i | w_{i-1}))`` over every
held-out token including the ``</s>`` of each document.

Sampling
========

A document starts in context ``</s>`` and draws words until ``</s>`` or ``max_tokens``. Untruncated,
``P(·|v)`` is the mixture of the discounted row (mass ``1 - λ(v)``) and ``P_cont`` (mass ``λ(v)``), so
each step is a coin and one categorical draw, vectorised over all documents of a batch.

**Top-p (nucleus) truncation** (Holtzman et al. 2020) keeps the smallest set of most likely words
whose mass reaches ``p`` and renormalises. For context ``v`` that set is ``{w : P(w|v) ≥ t_v}`` for the
largest threshold ``t_v`` with ``mass_v(t_v) ≥ p``, where ``mass_v(t)`` = the successors' mass above
``t`` plus ``λ(v)`` times the continuation mass of the non-successors with ``λ(v) P_cont(w) ≥ t``
(a prefix of the words sorted by ``P_cont``). ``t_v`` is found by bisection on ``ln t`` for every
context at once. The kept mass then splits into that prefix of ``P_cont`` (sampled by a search in its
cumulative sum) and one row per context, as before. Truncation removes exactly the rare words, which
is why it collapses the tails fastest (Dohmatob et al. 2024).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

TOKEN = r"\w+|[^\w\s]"
BOUNDARY = 0
BOUNDARY_WORD = "</s>"
_NO_SPACE_BEFORE = r" ([.,;:!?)\]}])"
_NO_SPACE_AFTER = r"([(\[{]) "


def tokenize(texts: Sequence[str] | pl.Series) -> tuple[pl.Series, np.ndarray]:
    """All tokens of ``texts`` in order (one flat series) and the number of tokens of each text."""
    series = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
    tokens = series.cast(pl.String).fill_null("").str.to_lowercase().str.extract_all(TOKEN)
    lengths = tokens.list.len().fill_null(0).to_numpy().astype(np.int64)
    return tokens.explode().drop_nulls().rename("token"), lengths


def detokenize(words: Sequence[str]) -> str:
    """Tokens back to text: spaces between them except before closing and after opening punctuation.

    ``tokenize(detokenize(t))`` gives ``t`` back, so samples can be re-read as training text.
    """
    text = pl.Series([" ".join(words)]).str.replace_all(_NO_SPACE_BEFORE, "$1").str.replace_all(_NO_SPACE_AFTER, "$1")
    return str(text.item())


class Vocabulary:
    """Token <-> id for one experiment. ``reference_size`` (the evaluation floor's ``|V_ref|``) is
    fixed at construction; words first seen later (e.g. in curated text) get new ids at the end."""

    def __init__(self, texts: Sequence[str] | pl.Series) -> None:
        tokens, _ = tokenize(texts)
        self.words: list[str] = [BOUNDARY_WORD, *sorted(set(tokens.unique().to_list()) - {BOUNDARY_WORD})]
        self.reference_size = len(self.words)
        self._frame = self._index(self.words)

    @staticmethod
    def _index(words: list[str]) -> pl.DataFrame:
        return pl.DataFrame({"token": words, "id": np.arange(len(words), dtype=np.int64)})

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, texts: Sequence[str] | pl.Series) -> np.ndarray:
        """Every text's token ids followed by ``</s>``, concatenated (int64)."""
        tokens, lengths = tokenize(texts)
        ids = self._lookup(tokens)
        if ids.null_count():
            unseen = sorted(set(tokens.filter(ids.is_null()).to_list()))
            self.words.extend(unseen)
            self._frame = self._index(self.words)
            ids = self._lookup(tokens)
        flat = ids.to_numpy().astype(np.int64)
        # insert a boundary after each document: position of document i's end in the flat stream
        ends = np.cumsum(lengths)
        return np.insert(flat, ends, BOUNDARY)

    def _lookup(self, tokens: pl.Series) -> pl.Series:
        frame = tokens.to_frame().join(self._frame, on="token", how="left", maintain_order="left")
        return frame["id"]

    def decode(self, ids: np.ndarray) -> str:
        return detokenize([self.words[i] for i in ids.tolist()])


@dataclass(frozen=True)
class BigramLM:
    """A fitted interpolated Kneser-Ney bigram model over ids ``0 .. size-1`` (see the module doc)."""

    size: int  # ids covered by the arrays (the vocabulary size at fit time)
    indptr: np.ndarray  # (size + 1,) CSR row pointers: successors of each context
    successors: np.ndarray  # (nnz,) successor ids, sorted within each row
    discounted: np.ndarray  # (nnz,) max(c(v,w) - d, 0) / c(v)
    backoff: np.ndarray  # (size,) λ(v)
    continuation: np.ndarray  # (size,) P_cont(w)
    discount: float
    tokens: int  # training tokens (boundaries included)

    @classmethod
    def fit(cls, stream: np.ndarray, size: int, discount: float = 0.75) -> BigramLM:
        """Fit on ``stream``: documents' ids each followed by ``</s>`` (as :meth:`Vocabulary.encode` gives)."""
        if not 0 < discount < 1:
            raise ValueError(f"discount must be in (0, 1), got {discount}")
        if len(stream) == 0:
            raise ValueError("cannot fit a language model on no text")
        if int(stream.max()) >= size:
            raise ValueError(f"stream has id {int(stream.max())} beyond the vocabulary size {size}")
        seq = np.concatenate([[BOUNDARY], stream]).astype(np.int64)
        keys, counts = np.unique(seq[:-1] * size + seq[1:], return_counts=True)
        rows, cols = keys // size, keys % size
        context_count = np.bincount(rows, weights=counts, minlength=size)
        distinct_after = np.bincount(rows, minlength=size).astype(np.float64)
        seen = context_count > 0
        backoff = np.ones(size)
        backoff[seen] = discount * distinct_after[seen] / context_count[seen]
        continuation = np.bincount(cols, minlength=size).astype(np.float64) / len(keys)
        return cls(
            size=size,
            indptr=np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=size))]).astype(np.int64),
            successors=cols.astype(np.int64),
            discounted=(counts - discount) / context_count[rows],
            backoff=backoff,
            continuation=continuation,
            discount=discount,
            tokens=len(stream),
        )

    @property
    def support(self) -> np.ndarray:
        """Ids of the words the model can emit (``</s>`` excluded)."""
        ids = np.flatnonzero(self.continuation > 0)
        return ids[ids != BOUNDARY]

    def log_prob(self, stream: np.ndarray, reference_size: int, floor: float = 1e-3) -> np.ndarray:
        """``ln P(w_i | w_{i-1})`` of every token of ``stream`` (documents each ending in ``</s>``),
        with the evaluation floor ``ε = floor`` over ``reference_size`` words."""
        seq = np.concatenate([[BOUNDARY], stream]).astype(np.int64)
        prev, nxt = seq[:-1], seq[1:]
        known_prev = prev < self.size
        known_next = nxt < self.size
        lam = np.where(known_prev, self.backoff[np.minimum(prev, self.size - 1)], 1.0)
        cont = np.where(known_next, self.continuation[np.minimum(nxt, self.size - 1)], 0.0)
        p = lam * ((1 - floor) * cont + floor / reference_size)
        both = known_prev & known_next
        keys = self._row_keys()
        query = prev[both] * self.size + nxt[both]
        at = np.clip(np.searchsorted(keys, query), 0, max(len(keys) - 1, 0))
        hit = keys[at] == query
        explicit = np.zeros(int(both.sum()))
        explicit[hit] = self.discounted[at[hit]]
        p[both] += explicit
        return np.log(p)

    def perplexity(self, stream: np.ndarray, reference_size: int, floor: float = 1e-3) -> float:
        return float(np.exp(-self.log_prob(stream, reference_size, floor).mean()))

    def _row_keys(self) -> np.ndarray:
        rows = np.repeat(np.arange(self.size, dtype=np.int64), np.diff(self.indptr))
        return rows * self.size + self.successors

    def sample(self, n: int, rng: np.random.Generator, top_p: float = 1.0, max_tokens: int = 1_000) -> list[np.ndarray]:
        """``n`` documents (token ids without the final ``</s>``), all drawn step by step in one batch."""
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        sampler = _Sampler.build(self, top_p)
        context = np.zeros(n, dtype=np.int64)
        alive = np.ones(n, dtype=bool)
        steps = np.zeros((max_tokens, n), dtype=np.int64)
        lengths = np.full(n, max_tokens, dtype=np.int64)
        for step in range(max_tokens):
            live = np.flatnonzero(alive)
            if len(live) == 0:
                break
            drawn = sampler.draw(context[live], rng)
            steps[step, live] = drawn
            ended = live[drawn == BOUNDARY]
            lengths[ended] = step
            alive[ended] = False
            context[live] = drawn
        return [steps[: lengths[i], i].copy() for i in range(n)]


@dataclass(frozen=True)
class _Sampler:
    """Per-context sampling tables: a prefix of the continuation words and one row of extra mass."""

    order: np.ndarray  # word ids by decreasing P_cont
    prefix_cumsum: np.ndarray  # cumulative P_cont in that order
    prefix_len: np.ndarray  # (size,) K_v: words of the prefix kept for context v
    prefix_mass: np.ndarray  # (size,) λ(v) · Σ_{k < K_v} P_cont
    row_cumsum: np.ndarray  # (nnz,) row index + within-row cumulative share of the row's kept mass
    row_mass: np.ndarray  # (size,) kept mass of the row
    successors: np.ndarray
    indptr: np.ndarray
    backoff: np.ndarray

    @classmethod
    def build(cls, lm: BigramLM, top_p: float) -> _Sampler:
        size = lm.size
        order = np.argsort(-lm.continuation, kind="stable")
        sorted_cont = lm.continuation[order]
        prefix_cumsum = np.cumsum(sorted_cont)
        padded = np.concatenate([[0.0], prefix_cumsum])
        rank = np.empty(size, dtype=np.int64)
        rank[order] = np.arange(size)
        row_of = np.repeat(np.arange(size, dtype=np.int64), np.diff(lm.indptr))
        lam = lm.backoff
        succ_cont = lm.continuation[lm.successors]
        full = lm.discounted + lam[row_of] * succ_cont  # P(s | v) of every successor

        def kept_prefix(t: np.ndarray) -> np.ndarray:
            # words w with λ(v) P_cont(w) >= t: a prefix of `order`
            return np.searchsorted(-sorted_cont, -t / lam, side="right")

        def mass(t: np.ndarray) -> np.ndarray:
            above = full >= t[row_of]
            k = kept_prefix(t)
            successors_above = np.bincount(row_of, weights=full * above, minlength=size)
            in_prefix = rank[lm.successors] < k[row_of]
            successors_in_prefix = np.bincount(row_of, weights=succ_cont * in_prefix, minlength=size)
            return successors_above + lam * (padded[k] - successors_in_prefix)

        if top_p >= 1:
            k = np.full(size, size, dtype=np.int64)
            kept = lm.discounted
        else:
            row_max = np.zeros(size)
            np.maximum.at(row_max, row_of, full)
            hi = np.log(np.maximum(row_max, lam * sorted_cont[0]))
            lo = np.full(size, np.log(1e-15))
            top = mass(np.exp(hi)) >= top_p
            for _ in range(50):
                mid = (lo + hi) / 2
                ok = mass(np.exp(mid)) >= top_p
                lo = np.where(ok, mid, lo)
                hi = np.where(ok, hi, mid)
            t = np.where(top, np.exp(hi), np.exp(lo))
            k = kept_prefix(t)
            above = full >= t[row_of]
            outside_prefix = rank[lm.successors] >= k[row_of]
            # a kept successor brings its discounted mass, and its continuation part unless the prefix has it
            kept = np.where(above, lm.discounted + lam[row_of] * succ_cont * outside_prefix, 0.0)
        row_mass = np.bincount(row_of, weights=kept, minlength=size)
        within = np.cumsum(kept) - np.repeat(np.concatenate([[0.0], np.cumsum(row_mass)[:-1]]), np.diff(lm.indptr))
        share = np.divide(within, row_mass[row_of], out=np.ones_like(within), where=row_mass[row_of] > 0)
        return cls(
            order=order,
            prefix_cumsum=prefix_cumsum,
            prefix_len=k,
            prefix_mass=lam * padded[k],
            row_cumsum=row_of + np.minimum(share, 1.0),
            row_mass=row_mass,
            successors=lm.successors,
            indptr=lm.indptr,
            backoff=lam,
        )

    def draw(self, context: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(len(context)) * (self.prefix_mass[context] + self.row_mass[context])
        from_prefix = u < self.prefix_mass[context]
        out = np.empty(len(context), dtype=np.int64)
        c = context[from_prefix]
        pos = np.searchsorted(self.prefix_cumsum, u[from_prefix] / self.backoff[c], side="right")
        out[from_prefix] = self.order[np.minimum(pos, self.prefix_len[c] - 1)]
        rest = ~from_prefix
        c = context[rest]
        share = (u[rest] - self.prefix_mass[c]) / np.maximum(self.row_mass[c], 1e-300)
        pos = np.searchsorted(self.row_cumsum, c + np.minimum(share, 1 - 1e-12), side="right")
        pos = np.clip(pos, self.indptr[c], self.indptr[c + 1] - 1)
        out[rest] = self.successors[pos]
        return out
