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


def summary(p: np.ndarray, y: np.ndarray) -> dict[str, float | int]:
    y = np.asarray(y).astype(int)
    both = 0 < y.sum() < len(y)
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if both else float("nan"),
        "precision_at_95_recall": round(precision_at_recall(p, y), 4) if both else float("nan"),
        "ece": round(expected_calibration_error(p, y), 4),
        "human": int(y.sum()),
        "machine": int(len(y) - y.sum()),
    }
