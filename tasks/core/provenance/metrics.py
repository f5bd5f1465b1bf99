"""Evaluation metrics for ``p_human`` (the positive class is *human*)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_auc_score


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Weights giving both classes equal total mass (the calibration prior is then 0.5)."""
    y = np.asarray(y)
    pos = max(int(y.sum()), 1)
    neg = max(len(y) - int(y.sum()), 1)
    return np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * neg))


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10, balanced: bool = True) -> float:
    """ECE with equal-width bins; with ``balanced`` each class carries half the weight (prior 0.5)."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    w = balanced_weights(y) if balanced else np.ones_like(p)
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = w.sum()
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            wb = w[mask]
            ece += wb.sum() / total * abs(np.average(p[mask], weights=wb) - np.average(y[mask], weights=wb))
    return float(ece)


def precision_at_recall(p: np.ndarray, y: np.ndarray, recall: float = 0.95) -> float:
    """Best precision of the human class among thresholds that keep at least ``recall`` of human documents."""
    precision, rec, _ = precision_recall_curve(y, p)
    ok = rec >= recall
    return float(precision[ok].max()) if ok.any() else 0.0


def with_prior(p: np.ndarray, prior: float) -> np.ndarray:
    """P(human) under an even prior turned into the posterior for a mix with ``prior`` human documents."""
    q = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    shift = np.log(prior / (1 - prior))
    return np.asarray(1.0 / (1.0 + np.exp(-(np.log(q / (1 - q)) + shift))))


def summary(p: np.ndarray, y: np.ndarray, train_prior: float | None = None) -> dict[str, float | int]:
    """ROC-AUC, precision at 95% human recall, and two calibration errors.

    ``ece`` checks what the model claims, P(human) under an even prior (each class weighs half).
    ``ece_natural`` is measured on the test mix as it is, unweighted, for the posterior under
    ``train_prior`` (the human share of the training set; the test's own share when not given).
    """
    y = np.asarray(y).astype(int)
    both = 0 < y.sum() < len(y)
    prior = float(np.clip(train_prior if train_prior is not None else y.mean(), 1e-6, 1 - 1e-6))
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if both else float("nan"),
        "precision_at_95_recall": round(precision_at_recall(p, y), 4) if both else float("nan"),
        "ece": round(expected_calibration_error(p, y), 4),
        "ece_natural": round(expected_calibration_error(with_prior(p, prior), y, balanced=False), 4),
        "human": int(y.sum()),
        "machine": int(len(y) - y.sum()),
    }
