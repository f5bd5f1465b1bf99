"""``score``: ``p_human`` and its evidence for a batch of documents."""

from __future__ import annotations

import math

import numpy as np
import orjson
import polars as pl

from tasks.core.errors import SchemaError
from tasks.core.provenance.config import ProvenanceConfig
from tasks.core.provenance.model import ProvenanceModel
from tasks.core.provenance.registry import SourceRegistry, load_registry
from tasks.core.provenance.signals import Evidence, metadata_evidence

OPTIONAL = ("source", "url", "domain", "fetched_at", "created_at", "license", "meta")


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def classifier_log_odds(
    model: ProvenanceModel, texts: pl.Series, cfg: ProvenanceConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(calibrated P(human), its clipped, weighted log-likelihood ratio) for the whole batch."""
    p = model.predict(texts)
    # calibrated under an even prior, so logit(p) is the likelihood ratio itself
    return p, np.clip(cfg.classifier_weight * _logit(p), -cfg.classifier_clip, cfg.classifier_clip)


def score(
    docs: pl.DataFrame | pl.LazyFrame,
    cfg: ProvenanceConfig,
    model: ProvenanceModel | None = None,
    registry: SourceRegistry | None = None,
) -> pl.DataFrame:
    """``docs`` with ``p_human`` (f64) and ``evidence`` (a JSON list) added.

    ``logit(p_human) = prior + sum(log_odds of the evidence)``; the evidence list includes the prior,
    so the sum of its ``log_odds`` always reproduces the score. Without a model the classifier is
    silent and says so.
    """
    frame = docs.collect() if isinstance(docs, pl.LazyFrame) else docs
    if "text" not in frame.columns:
        raise SchemaError(f"provenance scoring needs a 'text' column; got {frame.columns}")
    if frame.schema["text"] != pl.String:
        raise SchemaError(f"column 'text' must be a string, got {frame.schema['text']}")
    registry = registry or load_registry()
    work = frame.select(
        pl.col("text"),
        *(
            (pl.col(c).cast(pl.String) if c != "meta" or frame.schema[c] == pl.String else pl.col(c)).alias(c)
            if c in frame.columns
            else pl.lit(None, dtype=pl.String).alias(c)
            for c in OPTIONAL
        ),
    )
    if work.schema["meta"] not in (pl.String, pl.Null):
        work = work.with_columns(
            pl.col("meta").struct.json_encode()
            if isinstance(work.schema["meta"], pl.Struct)
            else pl.col("meta").cast(pl.String)
        )
    evidence = metadata_evidence(work, cfg, registry)
    if model is not None and frame.height:
        p_clf, clf_lo = classifier_log_odds(model, work["text"], cfg)
        version = model.info.get("version")
        clf_detail = f"text classifier v{version}" if version is not None else "text classifier"
    else:
        p_clf = clf_lo = np.zeros(frame.height)
    totals = np.empty(frame.height)
    encoded: list[str] = []
    prior: Evidence = {
        "signal": "prior",
        "value": None,
        "detail": "log-odds before any evidence",
        "log_odds": cfg.prior_log_odds,
    }
    for i, entries in enumerate(evidence):
        row = [prior, *entries]
        if model is not None:
            row.append(
                {
                    "signal": "classifier",
                    "value": round(float(p_clf[i]), 4),
                    "detail": f"{clf_detail}: P(human) {p_clf[i]:.3f}",
                    "log_odds": round(float(clf_lo[i]), 4),
                }
            )
        else:
            row.append(
                {
                    "signal": "classifier",
                    "value": None,
                    "detail": "no model: the text was not classified",
                    "log_odds": 0.0,
                }
            )
        totals[i] = math.fsum(e["log_odds"] for e in row)
        encoded.append(orjson.dumps(row).decode())
    p_human = 1.0 / (1.0 + np.exp(-totals))
    return frame.with_columns(
        pl.Series("p_human", p_human, dtype=pl.Float64), pl.Series("evidence", encoded, dtype=pl.String)
    )
