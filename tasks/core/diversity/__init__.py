"""Diversity scoring: a document representation, clusters and novelty per document, set-level metrics.

Public API::

    fit_model(docs, cfg) -> DiversityModel              # docs: doc_id, text
    fit_and_assign(docs, cfg) -> (DiversityModel, assignments)
    assign(docs, model) -> DataFrame[doc_id, cluster_id, novelty, cluster_share, centroid_distance]
    needs_refresh(model, reservoir_docs, cfg) -> bool
    cluster_quota_drops(batch_assignments, reservoir_cluster_counts, cfg) -> list[doc_id]
    save_model / load_model / fit_reservoir             # <home>/models/diversity/v<N>/
    set_metrics(texts, cfg, clusters=None, near_dup=None, representation=None) -> DiversityMetrics
    diversity_summary(root, version) -> DiversitySummary
    diversity_report(root, version, out_dir) -> Path
"""

from tasks.core.diversity.config import DiversityConfig
from tasks.core.diversity.metrics import DiversityMetrics, mean_pairwise_cosine, set_metrics, vendi_score
from tasks.core.diversity.model import (
    ASSIGNMENT_SCHEMA,
    DiversityModel,
    ModelInfo,
    assign,
    cluster_counts,
    cluster_quota_drops,
    fit_and_assign,
    fit_model,
    needs_refresh,
    refresh_reason,
)
from tasks.core.diversity.report import DiversitySummary, diversity_report, diversity_summary, write_report
from tasks.core.diversity.representation import DiversityError, HashedTfidfSvd, Representation
from tasks.core.diversity.store import (
    TRUSTED_TYPES,
    ModelIntegrityError,
    fit_reservoir,
    latest_model,
    load_model,
    model_versions,
    save_model,
)

__all__ = [
    "ASSIGNMENT_SCHEMA",
    "TRUSTED_TYPES",
    "DiversityConfig",
    "DiversityError",
    "DiversityMetrics",
    "DiversityModel",
    "DiversitySummary",
    "HashedTfidfSvd",
    "ModelInfo",
    "ModelIntegrityError",
    "Representation",
    "assign",
    "cluster_counts",
    "cluster_quota_drops",
    "diversity_report",
    "diversity_summary",
    "fit_and_assign",
    "fit_model",
    "fit_reservoir",
    "latest_model",
    "load_model",
    "mean_pairwise_cosine",
    "model_versions",
    "needs_refresh",
    "refresh_reason",
    "save_model",
    "set_metrics",
    "vendi_score",
    "write_report",
]
