r"""Clusters, per-document novelty and per-cluster admission quotas.

Maths
=====

Every document is a unit vector ``x`` (:mod:`~tasks.core.diversity.representation`), so
``cos(x, y) = x · y``.

**Clusters.** ``MiniBatchKMeans`` (``n_clusters``, seeded, k-means++ init) is fit on the same sample as
the representation; ``cluster_id`` is the nearest centroid (Euclidean, as ``predict`` does, which for
unit vectors ranks like cosine up to the centroids' norms). ``cluster_counts[c]`` counts the
documents the model was fit on (all of them, not only the sample) in cluster ``c``, and a
document's ``cluster_share`` is ``cluster_counts[c] / Σ cluster_counts``: the rarity of its topic in
the reservoir.

**Novelty.** The model keeps a seeded uniform sample ``R`` of ``neighbour_sample_size`` reservoir
vectors. For a document ``x``::

    novelty(x)           = clip(1 - mean of the k largest x · r over r in R, 0, 1)    (k = neighbours)
    centroid_distance(x) = clip(1 - cos(x, μ_c(x)), 0, 1)

A reservoir document is never its own neighbour (its entry in ``R`` is skipped by ``doc_id``); an
exact copy under another id still is: novelty 0 with ``k = 1``, and below the original's otherwise. A text with no usable feature (the zero
vector) has similarity 0 to everything: novelty 1.

**Refresh.** A model is stale when the reservoir has grown to ``refresh_factor`` times the number of
documents it was fit on, or when ``cfg`` changed a field that decides what the model computes.

**Quotas.** With ``N`` reservoir documents, ``B`` batch documents and share ``s``, cluster ``c`` may
hold ``q = max(quota_min_docs, floor(s · (N + B)))`` documents after admission; the batch may add
``max(0, q - reservoir_count[c])``. Within a cluster the batch's documents are kept by decreasing
novelty, then increasing ``doc_id``; the rest are over quota. The result depends only on the set of
rows, not on their order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl
from sklearn.cluster import MiniBatchKMeans
from threadpoolctl import threadpool_limits

from tasks.core.diversity.config import DiversityConfig
from tasks.core.diversity.representation import DiversityError, HashedTfidfSvd, Representation, make_representation
from tasks.core.schema import require

ASSIGNMENT_SCHEMA = pl.Schema(
    {
        "doc_id": pl.String,
        "cluster_id": pl.Int32,
        "novelty": pl.Float64,
        "cluster_share": pl.Float64,
        "centroid_distance": pl.Float64,
    }
)


@dataclass(frozen=True)
class ModelInfo:
    """Where a model came from; stored as ``manifest.json`` next to the skops file."""

    backend: str
    fitted_docs: int
    n_clusters: int
    dim: int
    config: dict[str, object]
    model_hash: str
    logic_version: int
    created_at: str
    reservoir_version: int | None = None
    version: int | None = None  # set when stored
    embedding_model: str | None = None


@dataclass(frozen=True)
class DiversityModel:
    """A fitted representation, its clusters and the reservoir sample novelty is measured against."""

    representation: Representation
    kmeans: MiniBatchKMeans
    cluster_counts: np.ndarray  # int64, documents per cluster in the fit set
    reference: np.ndarray  # float32 (m, dim) unit rows
    reference_ids: np.ndarray  # str (m,), doc_id of each reference row ("" when unknown)
    neighbours: int
    info: ModelInfo

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_counts)

    def with_info(self, **changes: object) -> DiversityModel:
        return dataclasses.replace(self, info=dataclasses.replace(self.info, **changes))  # type: ignore[arg-type]


def _ids_and_texts(docs: pl.DataFrame | pl.LazyFrame, step: str) -> pl.DataFrame:
    require(docs, ["doc_id", "text"], step)
    frame = docs.select("doc_id", "text")
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def fit_and_assign(
    docs: pl.DataFrame | pl.LazyFrame, cfg: DiversityConfig, reservoir_version: int | None = None
) -> tuple[DiversityModel, pl.DataFrame]:
    """Fit a model on ``docs`` (``doc_id``, ``text``) and assign every one of them, transforming once."""
    frame = _ids_and_texts(docs, "diversity fit")
    n = frame.height
    if n < 2:
        raise DiversityError(f"fitting the diversity model needs at least 2 documents, got {n}")
    rng = np.random.default_rng(cfg.seed)
    sample = np.sort(rng.choice(n, min(n, cfg.fit_sample_size), replace=False))
    representation = make_representation(cfg)
    if isinstance(representation, HashedTfidfSvd):
        vectors = representation.fit_transform(frame["text"], sample)
    else:
        vectors = representation.fit(frame["text"].gather(sample)).transform(frame["text"])
    with _single_threaded():
        kmeans = MiniBatchKMeans(
            n_clusters=min(cfg.n_clusters, len(sample)),
            random_state=cfg.seed,
            n_init=1,
            max_iter=50,
            batch_size=2_048,
            max_no_improvement=10,
        ).fit(vectors[sample])
        labels = kmeans.predict(vectors)
    reference_rows = np.sort(rng.choice(n, min(n, cfg.neighbour_sample_size), replace=False))
    info = ModelInfo(
        backend=representation.backend,
        fitted_docs=n,
        n_clusters=int(kmeans.n_clusters),
        dim=int(vectors.shape[1]),
        config=cfg.model_dump(mode="json"),
        model_hash=cfg.model_fields_hash(),
        logic_version=cfg.logic_version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        reservoir_version=reservoir_version,
        embedding_model=cfg.embedding_model if cfg.backend == "embedding" else None,
    )
    model = DiversityModel(
        representation=representation,
        kmeans=kmeans,
        cluster_counts=np.bincount(labels, minlength=kmeans.n_clusters).astype(np.int64),
        reference=vectors[reference_rows],
        reference_ids=frame["doc_id"].gather(reference_rows).fill_null("").to_numpy().astype(str),
        neighbours=cfg.neighbours,
        info=info,
    )
    return model, _score(frame["doc_id"], vectors, model, labels)


def fit_model(
    docs: pl.DataFrame | pl.LazyFrame, cfg: DiversityConfig, reservoir_version: int | None = None
) -> DiversityModel:
    """Fit the representation and clusters on ``docs`` (``doc_id``, ``text``), e.g. a reservoir version."""
    return fit_and_assign(docs, cfg, reservoir_version)[0]


def assign(docs: pl.DataFrame | pl.LazyFrame, model: DiversityModel) -> pl.DataFrame:
    """``doc_id, cluster_id, novelty, cluster_share, centroid_distance`` for each row of ``docs``, in order."""
    frame = _ids_and_texts(docs, "diversity assign")
    if frame.height == 0:
        return pl.DataFrame(schema=ASSIGNMENT_SCHEMA)
    vectors = model.representation.transform(frame["text"])
    if vectors.shape[1] != model.reference.shape[1]:
        raise DiversityError(f"the representation gives {vectors.shape[1]} dimensions, the model has {model.info.dim}")
    with _single_threaded():
        labels = model.kmeans.predict(vectors)
    return _score(frame["doc_id"], vectors, model, labels)


def _single_threaded() -> threadpool_limits:
    """MiniBatchKMeans' OpenMP steps are tiny (2,048 rows); with two threads on a busy 2-core machine they
    spin-waited for each other and ran 5-10x slower than on one thread, so k-means runs on one."""
    return threadpool_limits(limits=1, user_api="openmp")


def _score(doc_ids: pl.Series, vectors: np.ndarray, model: DiversityModel, labels: np.ndarray) -> pl.DataFrame:
    centroids = model.kmeans.cluster_centers_.astype(np.float32)
    centroid_norms = np.linalg.norm(centroids, axis=1)
    centroid_norms[centroid_norms == 0] = 1.0
    centroid_cos = np.einsum("ij,ij->i", vectors, centroids[labels]) / centroid_norms[labels]
    shares = model.cluster_counts / max(1, int(model.cluster_counts.sum()))
    return pl.DataFrame(
        {
            "doc_id": doc_ids,
            "cluster_id": labels.astype(np.int32),
            "novelty": _novelty(doc_ids, vectors, model),
            "cluster_share": shares[labels].astype(np.float64),
            "centroid_distance": np.clip(1.0 - centroid_cos, 0.0, 1.0).astype(np.float64),
        },
        schema=ASSIGNMENT_SCHEMA,
    )


def _novelty(doc_ids: pl.Series, vectors: np.ndarray, model: DiversityModel, block: int = 2_048) -> np.ndarray:
    reference = model.reference
    m = reference.shape[0]
    k = max(1, min(model.neighbours, m - 1 if m > 1 else 1))
    # position of each document in the reference sample (-1: not in it), to skip itself
    positions = (
        pl.DataFrame({"doc_id": doc_ids})
        .join(
            pl.DataFrame({"doc_id": model.reference_ids, "position": np.arange(m, dtype=np.int64)}).filter(
                pl.col("doc_id") != ""
            ),
            on="doc_id",
            how="left",
            maintain_order="left",
        )["position"]
        .fill_null(-1)
        .to_numpy()
    )
    out = np.empty(len(vectors), dtype=np.float64)
    for start in range(0, len(vectors), block):
        sims = vectors[start : start + block] @ reference.T
        own = positions[start : start + block]
        rows = np.flatnonzero(own >= 0)
        sims[rows, own[rows]] = -np.inf
        top = -np.partition(-sims, k - 1, axis=1)[:, :k]
        out[start : start + len(sims)] = 1.0 - top.mean(axis=1)
    return np.clip(out, 0.0, 1.0)


def refresh_reason(model: DiversityModel | None, reservoir_docs: int, cfg: DiversityConfig) -> str | None:
    """Why ``model`` should be refit for a reservoir of ``reservoir_docs`` documents, or None if it is fresh."""
    if model is None:
        return "no diversity model yet"
    if model.info.model_hash != cfg.model_fields_hash():
        return "the diversity configuration changed since the model was fit"
    if reservoir_docs >= cfg.refresh_factor * model.info.fitted_docs:
        return (
            f"the reservoir grew from {model.info.fitted_docs} to {reservoir_docs} documents "
            f"(refresh factor {cfg.refresh_factor})"
        )
    return None


def needs_refresh(model: DiversityModel | None, reservoir_docs: int, cfg: DiversityConfig) -> bool:
    """True when the reservoir grew past ``cfg.refresh_factor`` since the fit, or the model config changed."""
    return refresh_reason(model, reservoir_docs, cfg) is not None


def cluster_counts(assignments: pl.DataFrame | pl.LazyFrame) -> dict[int, int]:
    """``{cluster_id: documents}`` of a frame with a ``cluster_id`` column (e.g. the reservoir's)."""
    require(assignments, ["cluster_id"], "cluster counts")
    counts = assignments.lazy().group_by("cluster_id").len().drop_nulls("cluster_id").collect()
    return dict(zip(counts["cluster_id"].cast(pl.Int64).to_list(), counts["len"].to_list(), strict=True))


def cluster_quota_drops(
    batch_assignments: pl.DataFrame, reservoir_cluster_counts: Mapping[int, int], cfg: DiversityConfig
) -> list[str]:
    """The ``doc_id``s of the batch over their cluster's quota (see module doc), sorted; ``[]`` without quota."""
    require(batch_assignments, ["doc_id", "cluster_id", "novelty"], "cluster quota")
    if cfg.quota_max_share is None or batch_assignments.height == 0:
        return []
    reservoir_total = sum(reservoir_cluster_counts.values())
    quota = max(cfg.quota_min_docs, int(cfg.quota_max_share * (reservoir_total + batch_assignments.height)))
    held = pl.DataFrame(
        {
            "cluster_id": list(reservoir_cluster_counts.keys()),
            "held": list(reservoir_cluster_counts.values()),
        },
        schema={"cluster_id": pl.Int64, "held": pl.Int64},
    )
    ranked = (
        batch_assignments.select(
            "doc_id", pl.col("cluster_id").cast(pl.Int64), pl.col("novelty").cast(pl.Float64).fill_nan(None)
        )
        .sort(["cluster_id", "novelty", "doc_id"], descending=[False, True, False], nulls_last=True)
        .with_columns(rank=pl.int_range(pl.len()).over("cluster_id"))
        .join(held, on="cluster_id", how="left")
        .filter(pl.col("rank") >= (quota - pl.col("held").fill_null(0)).clip(lower_bound=0))
    )
    return sorted(ranked["doc_id"].to_list())
