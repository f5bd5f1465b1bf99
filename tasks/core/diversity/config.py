"""Configuration of the diversity stage (to move into ``tasks.core.config`` with the other stage configs)."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field, model_validator

from tasks.core.config import Frozen


class DiversityConfig(Frozen):
    """Document representation, clusters, novelty, admission quotas and set-level metrics.

    Fields marked *model* decide what a fitted model computes; changing one of them makes
    :func:`tasks.core.diversity.needs_refresh` ask for a refit.
    """

    logic_version: int = 1
    seed: int = 0

    # representation (model)
    backend: Literal["hashing", "embedding"] = Field(
        "hashing", description="hashing: HashingVectorizer + tf-idf + SVD (offline); embedding: optional extra"
    )
    embedding_model: str | None = Field(None, description="local path or name of a sentence-transformers model")
    n_features: int = Field(2**20, ge=2**10, description="hashing-space size of word 1-2 grams")
    max_features: int = Field(2**15, ge=16, description="most frequent hashed features kept for tf-idf and SVD")
    max_chars: int | None = Field(2_000, ge=1, description="characters of each text the representation reads")
    svd_components: int = Field(128, ge=2, le=1024)
    fit_sample_size: int = Field(30_000, ge=10, description="documents the tf-idf weights and SVD are fit on")
    batch_size: int = Field(8_192, ge=1, description="documents transformed at a time")

    # clusters and novelty (model)
    n_clusters: int = Field(64, ge=2)
    neighbour_sample_size: int = Field(2_000, ge=1, description="reservoir documents novelty is measured against")
    neighbours: int = Field(5, ge=1, description="nearest reservoir neighbours averaged into novelty")
    refresh_factor: float = Field(1.5, gt=1.0, description="refit when the reservoir grew by this factor")

    # admission quotas per cluster
    quota_max_share: float | None = Field(
        0.05, gt=0, le=1, description="a cluster may hold at most this share of the reservoir (None: no quota)"
    )
    quota_min_docs: int = Field(100, ge=0, description="every cluster may hold at least this many documents")

    # set-level metrics
    sample_size: int = Field(1_000, ge=2, description="documents in the Vendi / pairwise-cosine sample")
    lexical_tokens: int = Field(1_000_000, ge=100, description="tokens in the sample of lexical metrics")
    compression_bytes: int = Field(4_000_000, ge=1_000, description="UTF-8 bytes of the sample given to gzip")
    top_k: int = Field(1_000, ge=1, description="tail mass: share of tokens outside the top-k vocabulary")

    @model_validator(mode="after")
    def _embedding_model(self) -> DiversityConfig:
        if self.backend == "embedding" and not self.embedding_model:
            raise ValueError("backend 'embedding' needs embedding_model")
        return self

    def model_fields_hash(self) -> str:
        """Hash of the fields that decide what a fitted model computes."""
        keys = (
            "logic_version",
            "seed",
            "backend",
            "embedding_model",
            "n_features",
            "max_features",
            "max_chars",
            "svd_components",
            "fit_sample_size",
            "n_clusters",
            "neighbour_sample_size",
            "neighbours",
        )
        payload = json.dumps({k: getattr(self, k) for k in keys}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
