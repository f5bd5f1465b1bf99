"""The recursive-training simulation: policies side by side from one generation 0, with the same seeds.

Generation 0
    The first inbox of human documents goes through the nightly stages into a fresh reservoir, and a
    build of ``M`` documents from it is ``D0``, the real training data every policy starts from. The
    bigram model ``LM_0`` is fit on ``D0`` and samples ``S_0`` (``M`` documents); the Gaussian (mixture)
    ``G_0`` is fit on the representations of ``D0`` and samples as many points.

Generation g >= 1, training set by policy
    ``replace``      ``S_{g-1}``
    ``accumulate``   ``D0 + S_0 + … + S_{g-1}``
    ``fixed-real``   the first ``real_share · M`` documents of ``D0`` and the first rest of ``S_{g-1}``
    ``wellspring``   a build of ``M`` documents from the reservoir after the nightly stages curated an
                     inbox of ``S_{g-1}`` and ``fresh_docs`` fresh human documents (see ``curation``)

    ``<policy>+top-p`` is the same policy with every model sampled with nucleus truncation.
    In the closed-form setting the same rules apply to points; for ``wellspring`` the Gaussian's
    training set mirrors the text build: a human document of the build brings its representation, a
    synthetic one the Gaussian sample with the same generation and index.

Every generation's model samples with ``numpy.random.default_rng([seed, g])``, the same stream for
every policy. Metrics are listed in :data:`METRICS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.decomposition import PCA

from tasks.core.collapse.config import TRUNCATED_SUFFIX, CollapseConfig
from tasks.core.collapse.curation import CurationLoop, GenerationRun
from tasks.core.collapse.gaussian import (
    GaussianFit,
    expected_replace_ratio,
    fit_gaussian,
    variance_chains,
    variance_ratio,
    wasserstein2,
)
from tasks.core.collapse.human import HumanSplit
from tasks.core.collapse.ngram import BigramLM, Vocabulary
from tasks.core.config import DiversityConfig
from tasks.core.diversity import DiversityModel, assign, fit_model, set_metrics

METRICS: dict[str, str] = {
    "perplexity": "perplexity of the generation's model on held-out human text",
    "perplexity_ratio": "perplexity / generation 0's",
    "vocabulary_size": "distinct words in the generation's samples (at most metric_tokens tokens)",
    "vocab_retention": "distinct words in the generation's samples / generation 0's (same token budget)",
    "vocab_survival": "share of generation 0's model vocabulary the generation's model still has",
    "tail_mass": "share of sampled tokens outside the sample's top-k words",
    "tail_mass_ratio": "tail mass / generation 0's",
    "distinct_1": "distinct unigrams / unigrams of the samples",
    "distinct_2": "distinct bigrams / bigrams of the samples",
    "distinct_3": "distinct trigrams / trigrams of the samples",
    "cluster_entropy": "normalised entropy of the samples over generation 0's diversity clusters",
    "vendi_score": "Vendi score of a sample of the samples (generation 0's representation)",
    "gaussian_variance_ratio": "closed form: total variance of the refit Gaussian (mixture) / generation 0's",
    "gaussian_w2": "closed form: Wasserstein-2 distance to generation 0's Gaussian",
    "leak_rate": "wellspring: share of the inbox's synthetic documents admitted to the reservoir",
    "build_synthetic_share": "wellspring: share of synthetic documents in the build the model trains on",
    "reservoir_synthetic_share": "wellspring: share of synthetic documents in the reservoir",
}

Log = Callable[[str], None]


@dataclass
class _Reference:
    """What every generation is measured against."""

    vocab: Vocabulary
    heldout: np.ndarray
    model: DiversityModel
    metric_cfg: DiversityConfig
    pca: PCA
    lm0: BigramLM
    base: dict[str, float]
    gaussian0: GaussianFit

    def project(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.pca.transform(self.model.representation.transform(texts)), dtype=np.float64)


def run_collapse(human: HumanSplit, cfg: CollapseConfig, workdir: Path, log: Log | None = None) -> dict[str, Any]:
    """Run every policy of ``cfg`` for ``cfg.generations`` generations; the results as plain data
    (``policies -> name -> metric -> [value per generation]``, plus settings, notes and timings)."""
    say = log or (lambda _m: None)
    started, cpu = time.perf_counter(), time.process_time()
    loop = CurationLoop(workdir, cfg.nightly, cfg.seed)
    say(f"generation 0: curating {human.initial.height} human documents into a fresh reservoir")
    first = loop.step(0, human.initial, [], cfg.train_docs)
    d0 = first.build["text"].to_list()
    ref = _reference(human, d0, cfg)
    say(f"generation 0: {len(d0)} documents, {len(ref.vocab)} words; held-out perplexity {ref.base['perplexity']:.1f}")

    policies: dict[str, dict[str, list[Any]]] = {}
    timings: dict[str, float] = {}
    for name in cfg.policy_names:
        t = time.perf_counter()
        policies[name] = _run_policy(name, d0, first, human, loop, ref, cfg, say)
        timings[name] = round(time.perf_counter() - t, 1)
        say(f"{name}: done in {timings[name]:.0f} s")
    return {
        "benchmark": "collapse",
        "config": cfg.model_dump(mode="json", exclude={"nightly"}),
        "data": {
            "heldout_docs": human.heldout.height,
            "initial_docs": human.initial.height,
            "fresh_docs_per_generation": human.fresh[0].height if human.fresh else 0,
            "generation0_docs": len(d0),
            "generation0_reservoir_admitted": first.summary["admitted"],
            "vocabulary": ref.vocab.reference_size,
            "heldout_tokens": len(ref.heldout),
        },
        "metrics": METRICS,
        "generations": cfg.generations,
        "policies": policies,
        "sanity": sanity_checks(cfg),
        "seconds": {
            "total": round(time.perf_counter() - started, 1),
            "cpu": round(time.process_time() - cpu, 1),
            **timings,
        },
    }


def _reference(human: HumanSplit, d0: list[str], cfg: CollapseConfig) -> _Reference:
    vocab = Vocabulary(pl.concat([human.all_texts, pl.Series(d0)]))
    heldout = vocab.encode(human.heldout["text"])
    metric_cfg = DiversityConfig(
        seed=cfg.seed,
        n_clusters=cfg.n_clusters,
        sample_size=cfg.vendi_sample,
        lexical_tokens=cfg.metric_tokens,
        top_k=cfg.tail_top_k,
        compression_bytes=1_000_000,
        svd_components=min(128, max(2, len(d0) // 4)),
        neighbour_sample_size=min(2_000, len(d0)),
        quota_max_share=None,
    )
    model = fit_model(pl.DataFrame({"doc_id": [str(i) for i in range(len(d0))], "text": d0}), metric_cfg)
    vectors = model.representation.transform(d0)
    pca = PCA(n_components=min(cfg.gaussian_dims, vectors.shape[1], len(d0) - 1), random_state=cfg.seed).fit(vectors)
    x0 = np.asarray(pca.transform(vectors), dtype=np.float64)
    lm0 = BigramLM.fit(vocab.encode(d0), len(vocab), cfg.discount)
    ref = _Reference(
        vocab, heldout, model, metric_cfg, pca, lm0, {}, fit_gaussian(x0, cfg.gaussian_components, cfg.seed)
    )
    samples0 = _sample(lm0, ref, cfg, 0, 1.0)
    ref.base = _text_metrics(lm0, samples0, ref)
    return ref


def _sample(lm: BigramLM, ref: _Reference, cfg: CollapseConfig, generation: int, top_p: float) -> list[str]:
    rng = np.random.default_rng([cfg.seed, generation])
    return [ref.vocab.decode(doc) for doc in lm.sample(cfg.train_docs, rng, top_p=top_p, max_tokens=cfg.max_tokens)]


def _text_metrics(lm: BigramLM, samples: list[str], ref: _Reference) -> dict[str, float]:
    frame = pl.DataFrame({"doc_id": [str(i) for i in range(len(samples))], "text": samples})
    clusters = assign(frame, ref.model)["cluster_id"]
    m = set_metrics(frame["text"], ref.metric_cfg, clusters=clusters, representation=ref.model.representation)
    support0 = ref.lm0.support
    return {
        "perplexity": lm.perplexity(ref.heldout, ref.vocab.reference_size),
        "vocabulary_size": float(m.vocabulary_size),
        "vocab_survival": float(np.isin(support0, lm.support).mean()) if len(support0) else 0.0,
        "tail_mass": m.tail_mass,
        "distinct_1": m.distinct_1,
        "distinct_2": m.distinct_2,
        "distinct_3": m.distinct_3,
        "cluster_entropy": float(m.cluster_entropy or 0.0),
        "vendi_score": m.vendi_score,
        "sample_tokens": float(m.tokens),
    }


def _with_ratios(values: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    return {
        **values,
        "perplexity_ratio": values["perplexity"] / base["perplexity"],
        "vocab_retention": values["vocabulary_size"] / max(base["vocabulary_size"], 1.0),
        "tail_mass_ratio": values["tail_mass"] / base["tail_mass"] if base["tail_mass"] else 0.0,
    }


def _run_policy(
    name: str,
    d0: list[str],
    first: GenerationRun,
    human: HumanSplit,
    loop: CurationLoop,
    ref: _Reference,
    cfg: CollapseConfig,
    say: Log,
) -> dict[str, list[Any]]:
    policy = name.removesuffix(TRUNCATED_SUFFIX)
    top_p = cfg.top_p if name.endswith(TRUNCATED_SUFFIX) else 1.0
    m = cfg.train_docs
    keep = round(cfg.real_share * m)
    real_stream = ref.vocab.encode(d0)
    x0 = ref.project(d0)
    curves: dict[str, list[Any]] = {}

    def record(values: dict[str, Any]) -> None:
        for k, v in values.items():
            curves.setdefault(k, []).append(v)

    lm = ref.lm0
    gaussian = ref.gaussian0
    samples = _sample(lm, ref, cfg, 0, top_p)
    metrics0 = _text_metrics(lm, samples, ref) if top_p < 1 else dict(ref.base)
    points = gaussian.sample(m, np.random.default_rng([cfg.seed, 0, 1]))
    history_streams = [ref.vocab.encode(samples)]
    history_points = [points]
    all_points = [points]  # by generation, for the wellspring mirror
    record(
        {
            **_with_ratios(metrics0, ref.base),
            "gaussian_variance_ratio": 1.0 if top_p == 1.0 else None,
            "gaussian_w2": 0.0 if top_p == 1.0 else None,
            **({**_curation_metrics(first, loop), "leak_rate": None} if policy == "wellspring" else {}),
        }
    )
    previous_texts = samples
    for g in range(1, cfg.generations + 1):
        extra: dict[str, Any] = {}
        if policy == "replace":
            stream, x = history_streams[-1], history_points[-1]
        elif policy == "accumulate":
            stream = np.concatenate([real_stream, *history_streams])
            x = np.concatenate([x0, *history_points])
        elif policy == "fixed-real":
            stream = np.concatenate([ref.vocab.encode(d0[:keep]), ref.vocab.encode(previous_texts[: m - keep])])
            x = np.concatenate([x0[:keep], history_points[-1][: m - keep]])
        else:
            run = loop.step(g, human.fresh[g - 1], previous_texts, m, synthetic_generation=g - 1)
            build = run.build
            stream = ref.vocab.encode(build["text"])
            x = _mirror_points(build, ref, all_points)
            extra = _curation_metrics(run, loop)
            say(
                f"wellspring gen {g}: leak {extra['leak_rate']:.0%} of {run.synthetic_written} synthetic, "
                f"build synthetic share {extra['build_synthetic_share']:.0%}"
            )
        lm = BigramLM.fit(stream, len(ref.vocab), cfg.discount)
        samples = _sample(lm, ref, cfg, g, top_p)
        closed_form: dict[str, Any] = {"gaussian_variance_ratio": None, "gaussian_w2": None}
        if top_p == 1.0:  # sampling truncation does not apply to the Gaussian: its chain is the base policy's
            gaussian = fit_gaussian(x, cfg.gaussian_components, cfg.seed)
            points = gaussian.sample(m, np.random.default_rng([cfg.seed, g, 1]))
            closed_form = {
                "gaussian_variance_ratio": variance_ratio(gaussian, ref.gaussian0),
                "gaussian_w2": wasserstein2(gaussian, ref.gaussian0),
            }
            history_points.append(points)
            all_points.append(points)
        history_streams.append(ref.vocab.encode(samples))
        previous_texts = samples
        record({**_with_ratios(_text_metrics(lm, samples, ref), ref.base), **closed_form, **extra})
    return curves


def _mirror_points(build: pl.DataFrame, ref: _Reference, points: list[np.ndarray]) -> np.ndarray:
    """The Gaussian training set of the wellspring policy: each human document of the build brings its
    representation, each synthetic one the Gaussian sample of the same generation and index."""
    human = build.filter(~pl.col("synthetic"))
    parts = [ref.project(human["text"].to_list())] if human.height else []
    synthetic = build.filter(pl.col("synthetic"))
    if synthetic.height:
        parts.append(
            np.stack(
                [
                    points[g][i]
                    for g, i in zip(synthetic["origin_generation"], synthetic["origin_index"], strict=True)
                    if g < len(points) and i < len(points[g])
                ]
            )
        )
    return np.concatenate(parts)


def _curation_metrics(run: GenerationRun, loop: CurationLoop) -> dict[str, Any]:
    reservoir = loop.root.scan("reservoir").select("doc_id").collect()["doc_id"]
    synthetic = reservoir.is_in(list(loop.synthetic_ids)).sum() if loop.synthetic_ids else 0
    return {
        "leak_rate": run.leak_rate,
        "build_synthetic_share": run.build_synthetic_share,
        "reservoir_synthetic_share": float(synthetic / max(len(reservoir), 1)),
    }


def sanity_checks(cfg: CollapseConfig, m: int = 100, chains: int = 10_000) -> dict[str, Any]:
    """1-D Gaussian chains against the closed forms (see ``gaussian``): the mean of ``var_g / var_0`` over
    ``chains`` seeds for each policy, and the theory for ``replace`` with the MLE refit."""
    rng = np.random.default_rng([cfg.seed, 1729])
    g = cfg.generations
    measured = {
        policy: variance_chains(policy, m, g, chains, rng, real_share=cfg.real_share).mean(axis=1).tolist()
        for policy in ("replace", "accumulate", "fixed-real")
    }
    return {
        "m": m,
        "chains": chains,
        "generations": g,
        "mean_variance_ratio": measured,
        "replace_theory": expected_replace_ratio(m, g).tolist(),
    }
