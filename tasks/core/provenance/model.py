"""The text classifier: training, evaluation on a held-out split, and batch prediction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict, train_test_split

from tasks.core.errors import SchemaError
from tasks.core.provenance.charlm import CharNgramCounts
from tasks.core.provenance.config import ProvenanceConfig
from tasks.core.provenance.features import FeatureSpec, Featurizer
from tasks.core.provenance.metrics import balanced_weights, summary


@dataclass
class ProvenanceModel:
    """A fitted classifier. ``predict`` gives calibrated P(human) under an even prior.

    ``classifier`` is the logistic regression over the features; ``calibrator`` is a one-feature
    logistic regression (Platt scaling) from its decision score to P(human), fitted on out-of-fold
    scores with both classes weighted equally, so ``logit(predict(x))`` is a likelihood ratio and the
    class prior stays where it belongs (``ProvenanceConfig.prior_log_odds``).

    ``human_chars`` is a character language model of the human training texts
    (:mod:`tasks.core.provenance.charlm`); its two features, standardised with ``charlm_center`` and
    ``charlm_scale`` (from the training set), are appended to the n-gram features.
    """

    spec: FeatureSpec
    classifier: LogisticRegression
    calibrator: LogisticRegression
    human_chars: CharNgramCounts
    charlm_center: np.ndarray
    charlm_scale: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._featurizer = Featurizer(self.spec)

    def features(self, texts: pl.Series) -> Any:
        prefixes = self._featurizer.prefixes(texts)
        raw = charlm_features(self.human_chars, prefixes.to_list(), self.spec)
        return _with_charlm(self._featurizer.transform(prefixes), raw, self.charlm_center, self.charlm_scale, self.spec)

    def decision(self, texts: pl.Series) -> np.ndarray:
        """The uncalibrated decision score (log-odds scale, higher = more human)."""
        return np.asarray(self.classifier.decision_function(self.features(texts)), dtype=np.float64)

    def predict(self, texts: pl.Series) -> np.ndarray:
        """Calibrated P(human) for every text, the batch in one pass."""
        if texts.len() == 0:
            return np.zeros(0)
        human = list(self.calibrator.classes_).index(1)
        scores = self.decision(texts).reshape(-1, 1)
        return np.asarray(self.calibrator.predict_proba(scores)[:, human], dtype=np.float64)


def _require_text(frame: pl.DataFrame, name: str) -> None:
    if "text" not in frame.columns:
        raise SchemaError(f"{name} documents need a 'text' column; got {frame.columns}")
    if frame.height == 0:
        raise SchemaError(f"no {name} documents to train on")


def sample_human(human: pl.DataFrame, per_source: int, seed: int) -> pl.DataFrame:
    """At most ``per_source`` documents per source (a stable seeded sample), so no genre dominates."""
    keyed = human.filter(pl.col("text").str.len_chars() > 0).with_columns(
        pl.col("text").hash(seed).alias("_order"),
        (pl.col("source") if "source" in human.columns else pl.lit("?")).alias("_group"),
    )
    return keyed.sort("_order").group_by("_group", maintain_order=True).head(per_source).drop("_order", "_group")


def match_lengths(texts: pl.Series, reference: pl.Series, seed: int) -> pl.Series:
    """Cut each text at a word boundary to a length drawn from ``reference``'s length distribution.

    Without it the classifier learns that long texts are human (the machine replies stop at 200
    tokens), and cutting also makes human training texts end mid-sentence as often as the machine
    replies that hit their token cap, so neither length nor the ending can be learnt.
    """
    lengths = reference.str.len_chars().to_numpy()
    targets = np.random.default_rng(seed).choice(lengths, size=texts.len())
    out = []
    for text, target in zip(texts.to_list(), targets, strict=True):
        if len(text) > target:
            cut = text.rfind(" ", 0, target)
            text = text[: cut if cut > target // 2 else target]
        out.append(text)
    return pl.Series("text", out, dtype=pl.String)


def charlm_features(counts: CharNgramCounts, texts: list[str], spec: FeatureSpec) -> np.ndarray:
    """The unscaled character language model features of ``texts`` (already cut to the classified window)."""
    return counts.features(texts, spec.charlm_window, spec.charlm_smoothing, spec.charlm_rare)


def _with_charlm(x: Any, raw: np.ndarray, center: np.ndarray, scale: np.ndarray, spec: FeatureSpec) -> sp.csr_matrix:
    """The n-gram matrix with the standardised, weighted language model features as extra columns."""
    dense = (raw - center) / scale * spec.charlm_weight
    return sp.hstack([x, sp.csr_matrix(dense)], format="csr")


def _human_language_model(
    texts: list[str], y: np.ndarray, spec: FeatureSpec, seed: int
) -> tuple[CharNgramCounts, np.ndarray]:
    """The human character model and every training text's features under it.

    A human training text is scored by the model minus its own fold (5 folds), so its features are
    those of unseen human text, as they will be at scoring time; machine texts are not in the model.
    """
    human = np.flatnonzero(y == 1)
    counts = CharNgramCounts.of([texts[i] for i in human], spec.charlm_bits)
    raw = np.zeros((len(texts), 2))
    machine = np.flatnonzero(y != 1)
    raw[machine] = charlm_features(counts, [texts[i] for i in machine], spec)
    for _, part in KFold(min(5, len(human)), shuffle=True, random_state=seed).split(human):
        fold = [texts[i] for i in human[part]]
        raw[human[part]] = charlm_features(counts.without(CharNgramCounts.of(fold, spec.charlm_bits)), fold, spec)
    return counts, raw


def _classifier(cfg: ProvenanceConfig, seed: int) -> LogisticRegression:
    return LogisticRegression(C=cfg.regularization_c, solver="liblinear", dual=True, max_iter=5000, random_state=seed)


def fit(
    texts: pl.Series, y: np.ndarray, cfg: ProvenanceConfig, seed: int = 0, spec: FeatureSpec | None = None
) -> ProvenanceModel:
    """Fit the logistic regression on all of ``texts`` and a Platt calibrator on its out-of-fold scores.

    Out-of-fold: each text's calibration score comes from a model that did not see it (up to 5
    stratified folds; fewer when a class is small), so the calibrator learns how sure the classifier
    should be on new text, not on its own training set. Both fits weight the classes equally.
    """
    spec = spec or FeatureSpec()
    y = np.asarray(y).astype(int)
    featurizer = Featurizer(spec)
    prefixes = featurizer.prefixes(texts)
    human_chars, raw = _human_language_model(prefixes.to_list(), y, spec, seed)
    center, scale = raw.mean(axis=0), raw.std(axis=0) + 1e-9
    x = _with_charlm(featurizer.transform(prefixes), raw, center, scale, spec)
    weights = balanced_weights(y)
    folds = int(min(5, np.bincount(y, minlength=2).min()))
    if folds < 2:
        raise SchemaError("training needs at least two human and two machine documents")
    out_of_fold = cross_val_predict(
        _classifier(cfg, seed),
        x,
        y,
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        method="decision_function",
        params={"sample_weight": weights},
    )
    calibrator = LogisticRegression(C=1e4, class_weight="balanced").fit(out_of_fold.reshape(-1, 1), y)
    classifier = _classifier(cfg, seed).fit(x, y, sample_weight=weights)
    return ProvenanceModel(spec, classifier, calibrator, human_chars, center, scale)


def training_set(human: pl.DataFrame, machine: pl.DataFrame, cfg: ProvenanceConfig, seed: int) -> pl.DataFrame:
    """Texts with ``label`` (1 human, 0 machine) and ``group`` (human source / machine task style)."""
    _require_text(human, "human")
    _require_text(machine, "machine")
    featurizer = Featurizer(FeatureSpec())
    sampled = sample_human(human, cfg.train_per_source, seed)
    machine_text = featurizer.prefixes(machine["text"])
    human_text = match_lengths(featurizer.prefixes(sampled["text"]), machine_text, seed)
    human_group = sampled["source"] if "source" in sampled.columns else pl.Series(["human"] * sampled.height)
    machine_group = (
        machine["task_style"] if "task_style" in machine.columns else pl.Series(["machine"] * machine.height)
    )
    return pl.DataFrame(
        {
            "text": pl.concat([human_text, machine_text]),
            "label": np.r_[np.ones(sampled.height, dtype=np.int8), np.zeros(machine.height, dtype=np.int8)],
            "group": pl.concat([human_group.cast(pl.String), machine_group.cast(pl.String)]).fill_null("?"),
        }
    )


def train(
    human: pl.DataFrame, machine: pl.DataFrame, cfg: ProvenanceConfig, seed: int = 0
) -> tuple[ProvenanceModel, dict[str, Any]]:
    """Fit on a stratified (1 - ``test_fraction``) split; the metrics are this model's on the rest."""
    data = training_set(human, machine, cfg, seed)
    y = data["label"].to_numpy()
    idx_train, idx_test = train_test_split(
        np.arange(data.height), test_size=cfg.test_fraction, stratify=y, random_state=seed
    )
    model = fit(data["text"][idx_train], y[idx_train], cfg, seed)
    p = model.predict(data["text"][idx_test])
    metrics: dict[str, Any] = {
        "held_out": summary(p, y[idx_test], train_prior=float(y[idx_train].mean())),
        "train": {"human": int(y[idx_train].sum()), "machine": int(len(idx_train) - y[idx_train].sum())},
        "seed": seed,
    }
    model.info = {
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": seed,
        "config_hash": cfg.config_hash(),
        "logic_version": cfg.logic_version,
        "feature_spec": model.spec.to_dict(),
    }
    return model, metrics
