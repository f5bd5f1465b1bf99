"""Provenance scoring: how likely a document is human-written, with the evidence behind the number.

Maths
-----
Every document gets the log-odds of "human-written" as a sum (naive Bayes over signals treated as
conditionally independent given the class):

    logit(p_human) = prior + sum_i s_i + clip(w * logit(p_clf), -c, +c)

- ``prior`` (``ProvenanceConfig.prior_log_odds``, 0 = even odds) is the belief before any evidence.
- ``s_i`` are metadata log-likelihood ratios ``log P(signal | human) / P(signal | machine)``, set in
  the config: source trust from the registry (archival +3, trusted +2, suspect -1.5, synthetic -6),
  the strongest credible date before the 2022-11-30 cutoff (+3 for created_at or fetched_at, +2 for
  Last-Modified or a meta date; counted once because dates are correlated; -0.25 when the earliest
  credible date is after it), a declared licence (+0.3) or human creator (+0.5), and explicit
  machine-generation disclosures (-12 for a generator tag naming a text generator, an
  ``ai_generated: true`` flag or a C2PA ``trainedAlgorithmicMedia`` source type; -3 for
  ``compositeWithTrainedAlgorithmicMedia``; -2 when the text calls itself an AI).
- ``p_clf`` is the text classifier's probability, calibrated (sigmoid) under an even class prior,
  so ``logit(p_clf)`` is its likelihood ratio. It is clipped to ``[-c, c]`` (``classifier_clip``, 4:
  at most ~55:1) so that strong metadata outweighs it: a trusted (+2) document dated before the
  cutoff (+3) stays at logit >= +1 (p >= 0.73) even when the classifier is sure it is machine text,
  and a disclosed machine document (-12) from a trusted source with a licence stays at logit <= -5.7
  (p <= 0.004) whatever the classifier says; only when every positive signal fires at once (archival
  source, pre-cutoff date, licence, creator, confident classifier: +10.8) does it reach p ~ 0.23.
  When metadata is silent, the sum is the classifier's own verdict.

The evidence list holds every term (the prior too), so ``sum(e["log_odds"])`` is ``logit(p_human)``.

Public API
----------
``train(human, machine, cfg, seed) -> (model, metrics)``; ``save_model(root, model, metrics) -> version``;
``load_model(root, version=None)``; ``score(docs, cfg, model, registry) -> DataFrame`` adding ``p_human``
and ``evidence``; ``load_registry(root)``; ``read_documents(path)``.
"""

from tasks.core.provenance.config import ProvenanceConfig
from tasks.core.provenance.io import read_documents
from tasks.core.provenance.model import ProvenanceModel, train
from tasks.core.provenance.registry import SourceEntry, SourceRegistry, load_registry
from tasks.core.provenance.score import score
from tasks.core.provenance.store import ModelFileError, load_metrics, load_model, save_model, versions

__all__ = [
    "ModelFileError",
    "ProvenanceConfig",
    "ProvenanceModel",
    "SourceEntry",
    "SourceRegistry",
    "load_metrics",
    "load_model",
    "load_registry",
    "read_documents",
    "save_model",
    "score",
    "train",
    "versions",
]
