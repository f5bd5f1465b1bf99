"""The collapse benchmark's models: the bigram LM, top-p sampling, and the Gaussian chains against theory."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from tasks.core.collapse import (
    BigramLM,
    CollapseConfig,
    Vocabulary,
    detokenize,
    expected_replace_log_ratio,
    expected_replace_ratio,
    fit_gaussian,
    read_documents,
    split,
    tokenize,
    variance_chains,
    variance_ratio,
    wasserstein2,
)
from tasks.core.collapse.ngram import _Sampler
from tasks.core.errors import InputError
from tests.conftest import SAMPLE

TEXTS = [
    "The cat sat on the mat. The dog sat on the log.",
    "A cat and a dog met on the mat, and the cat ran.",
    "Rare words like zymurgy and quixotic appear once.",
    "The log was on the mat; the dog (an old one) slept.",
]


@pytest.fixture(scope="module")
def sample_texts() -> list[str]:
    return read_documents([SAMPLE / "inbox"])["text"].to_list()[:600]


def _dense(lm: BigramLM, v: int) -> np.ndarray:
    p = lm.backoff[v] * lm.continuation
    s, e = lm.indptr[v], lm.indptr[v + 1]
    p[lm.successors[s:e]] += lm.discounted[s:e]
    return p


def test_tokens_round_trip_through_text() -> None:
    tokens, lengths = tokenize(TEXTS)
    assert lengths.sum() == len(tokens)
    words = tokens.to_list()[: lengths[0]]
    assert words[:4] == ["the", "cat", "sat", "on"] and "." in words
    again, _ = tokenize([detokenize(words)])
    assert again.to_list() == words
    assert detokenize(["an", "(", "old", "one", ")", "slept", "."]) == "an (old one) slept."


def test_every_context_is_a_distribution_and_held_out_text_costs_more(sample_texts: list[str]) -> None:
    vocab = Vocabulary(sample_texts)
    lm = BigramLM.fit(vocab.encode(sample_texts[:400]), len(vocab))
    for v in (0, *lm.successors[:50].tolist()):
        assert _dense(lm, v).sum() == pytest.approx(1.0, abs=1e-9)
    train = lm.perplexity(vocab.encode(sample_texts[:400]), vocab.reference_size)
    held = lm.perplexity(vocab.encode(sample_texts[400:]), vocab.reference_size)
    assert 1 < train < held < np.inf


def test_forgotten_words_raise_perplexity_instead_of_breaking_it(sample_texts: list[str]) -> None:
    vocab = Vocabulary(sample_texts)
    held = vocab.encode(sample_texts[500:])
    big = BigramLM.fit(vocab.encode(sample_texts[:400]), len(vocab))
    small = BigramLM.fit(vocab.encode(sample_texts[:40]), len(vocab))
    assert len(small.support) < len(big.support)
    assert np.isfinite(small.perplexity(held, vocab.reference_size))
    assert small.perplexity(held, vocab.reference_size) > big.perplexity(held, vocab.reference_size)


def test_sampling_is_reproducible_and_only_emits_known_words(sample_texts: list[str]) -> None:
    vocab = Vocabulary(sample_texts)
    lm = BigramLM.fit(vocab.encode(sample_texts[:200]), len(vocab))
    a = lm.sample(50, np.random.default_rng(7))
    b = lm.sample(50, np.random.default_rng(7))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    emitted = np.unique(np.concatenate(a))
    assert np.isin(emitted, lm.support).all()
    assert 0 not in emitted  # the boundary ends a document, it is never part of one


def test_untruncated_sampling_follows_the_model(sample_texts: list[str]) -> None:
    vocab = Vocabulary(sample_texts)
    lm = BigramLM.fit(vocab.encode(sample_texts[:200]), len(vocab))
    draws = _Sampler.build(lm, 1.0).draw(np.zeros(200_000, dtype=np.int64), np.random.default_rng(0))
    empirical = np.bincount(draws, minlength=lm.size) / len(draws)
    expected = _dense(lm, 0)
    top = np.argsort(-expected)[:20]
    np.testing.assert_allclose(empirical[top], expected[top], atol=4e-3)


@pytest.mark.parametrize("top_p", [0.5, 0.9])
def test_top_p_keeps_exactly_the_nucleus(sample_texts: list[str], top_p: float) -> None:
    vocab = Vocabulary(sample_texts)
    lm = BigramLM.fit(vocab.encode(sample_texts[:300]), len(vocab))
    sampler = _Sampler.build(lm, top_p)
    for v in (0, *np.unique(lm.successors[:400])[:30].tolist()):
        p = _dense(lm, v)
        order = np.argsort(-p, kind="stable")
        cut = int(np.searchsorted(np.cumsum(p[order]), top_p - 1e-9)) + 1
        threshold = p[order[cut - 1]]
        brute = np.where(p >= threshold * (1 - 1e-9), p, 0.0)
        kept = np.zeros(lm.size)
        kept[sampler.order[: sampler.prefix_len[v]]] += (
            lm.backoff[v] * lm.continuation[sampler.order[: sampler.prefix_len[v]]]
        )
        s, e = lm.indptr[v], lm.indptr[v + 1]
        row_weights = np.diff(np.concatenate([[v], sampler.row_cumsum[s:e]])) * sampler.row_mass[v]
        kept[lm.successors[s:e]] += row_weights
        np.testing.assert_allclose(kept / kept.sum(), brute / brute.sum(), atol=1e-6)


def test_top_p_loses_the_tail_faster(sample_texts: list[str]) -> None:
    vocab = Vocabulary(sample_texts)
    lm = BigramLM.fit(vocab.encode(sample_texts[:300]), len(vocab))
    full = np.unique(np.concatenate(lm.sample(300, np.random.default_rng(1))))
    truncated = np.unique(np.concatenate(lm.sample(300, np.random.default_rng(1), top_p=0.8)))
    assert len(truncated) < 0.8 * len(full)


def test_replace_shrinks_the_vocabulary_generation_after_generation(sample_texts: list[str]) -> None:
    vocab = Vocabulary(sample_texts)
    lm = BigramLM.fit(vocab.encode(sample_texts[:200]), len(vocab))
    sizes = [len(lm.support)]
    for g in range(4):
        docs = lm.sample(200, np.random.default_rng(g))
        stream = np.concatenate([np.append(d, 0) for d in docs])
        lm = BigramLM.fit(stream, len(vocab))
        sizes.append(len(lm.support))
    assert all(b <= a for a, b in itertools.pairwise(sizes))
    assert sizes[-1] < 0.7 * sizes[0]


def test_bad_model_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="discount"):
        BigramLM.fit(np.array([1, 0]), 2, discount=1.5)
    with pytest.raises(ValueError, match="beyond the vocabulary"):
        BigramLM.fit(np.array([5, 0]), 2)
    lm = BigramLM.fit(np.array([1, 0]), 2)
    with pytest.raises(ValueError, match="top_p"):
        lm.sample(1, np.random.default_rng(0), top_p=0)


# --- closed form ---------------------------------------------------------------------------------

M, G, CHAINS = 50, 20, 20_000


def test_replace_mle_variance_decays_like_the_closed_form() -> None:
    """E[var_g/var_0] = ((M-1)/M)^g for the MLE refit (about exp(-g/M)); standard error here < 1%."""
    ratios = variance_chains("replace", M, G, CHAINS, np.random.default_rng(0))
    expected = expected_replace_ratio(M, G)
    for g in (1, 5, 10, 20):
        assert ratios[g].mean() == pytest.approx(expected[g], rel=0.03)
    assert expected[G] == pytest.approx(np.exp(-G / M), rel=0.01)


def test_replace_unbiased_variance_is_a_martingale_that_still_collapses() -> None:
    ratios = variance_chains("replace", M, G, CHAINS, np.random.default_rng(1), ddof=1)
    assert ratios[G].mean() == pytest.approx(1.0, rel=0.03)
    log_expected = expected_replace_log_ratio(M, G, ddof=1)
    for g in (5, 20):
        assert np.log(ratios[g]).mean() == pytest.approx(log_expected[g], abs=0.03)
    assert np.median(ratios[G]) < 0.8


def test_accumulate_stays_bounded_while_replace_collapses() -> None:
    rng = np.random.default_rng(2)
    replace = variance_chains("replace", 10, 50, 5_000, rng)
    accumulate = variance_chains("accumulate", 10, 50, 5_000, rng)
    fixed = variance_chains("fixed-real", 10, 50, 5_000, rng)
    assert replace[50].mean() < 0.01
    assert accumulate[50].mean() > 0.85 and np.median(accumulate[50]) > 0.8
    assert abs(accumulate[50].mean() - accumulate[10].mean()) < 0.03  # a plateau, not a slow decay
    assert fixed[50].mean() > 0.7


def test_gaussian_metrics() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5_000, 3)) * np.array([1.0, 2.0, 3.0])
    base = fit_gaussian(x)
    assert wasserstein2(base, base) == pytest.approx(0.0, abs=1e-6)
    shifted = fit_gaussian(x + np.array([3.0, 4.0, 0.0]))
    assert wasserstein2(shifted, base) == pytest.approx(5.0, rel=1e-6)
    assert variance_ratio(fit_gaussian(x * 0.5), base) == pytest.approx(0.25, rel=1e-4)
    mixture = fit_gaussian(np.concatenate([x, x + 10]), components=2, seed=0)
    assert mixture.weights.shape == (2,)
    a = mixture.sample(100, np.random.default_rng(5))
    assert np.array_equal(a, mixture.sample(100, np.random.default_rng(5))) and a.shape == (100, 3)


def test_multivariate_replace_loses_variance_as_predicted() -> None:
    rng = np.random.default_rng(4)
    m, g, chains = 20, 8, 400
    ratios = []
    for _ in range(chains):
        base = fit = fit_gaussian(rng.standard_normal((m, 3)), reg=0.0)
        for _ in range(g):
            fit = fit_gaussian(fit.sample(m, rng), reg=0.0)
        ratios.append(variance_ratio(fit, base))
    assert np.mean(ratios) == pytest.approx(expected_replace_ratio(m, g)[g], rel=0.1)


# --- data -----------------------------------------------------------------------------------------


def test_sample_documents_split_into_disjoint_parts() -> None:
    docs = read_documents([SAMPLE / "inbox"])
    assert docs.height > 1_500 and docs["text"].n_unique() == docs.height
    assert set(docs.columns) == {"text", "source"}
    parts = split(docs, 100, 200, 50, 3, seed=0)
    texts = pl.concat([parts.heldout, parts.initial, *parts.fresh])["text"]
    assert texts.len() == 100 + 200 + 150 and texts.n_unique() == texts.len()
    with pytest.raises(InputError, match="needs"):
        split(docs, docs.height, 1, 1, 1, seed=0)


def test_config_names_the_policies_and_refuses_unknown_ones() -> None:
    cfg = CollapseConfig.quick()
    assert cfg.policy_names == ["replace", "accumulate", "fixed-real", "wellspring", "replace+top-p"]
    with pytest.raises(ValueError, match="unknown policies"):
        CollapseConfig(policies=("replace", "magic"))
