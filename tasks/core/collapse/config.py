"""Settings of the collapse benchmark (a frozen pydantic model like every stage config)."""

from __future__ import annotations

from pydantic import Field, model_validator

from tasks.core.config import Frozen, NightlyConfig

BASE_POLICIES = ("replace", "accumulate", "fixed-real", "wellspring")
TRUNCATED_SUFFIX = "+top-p"


class CollapseConfig(Frozen):
    """One recursive-training experiment. ``M = train_docs`` is every generation's training-set size
    (for ``accumulate``: its real part) and the number of documents each model samples."""

    logic_version: int = 1
    generations: int = Field(20, ge=1, description="generations after generation 0")
    train_docs: int = Field(1_000, ge=10, description="M: documents per training set and per sample")
    initial_docs: int = Field(2_000, ge=10, description="human documents in the first inbox (reservoir at gen 0)")
    fresh_docs: int = Field(500, ge=0, description="fresh human documents in each later inbox (wellspring)")
    heldout_docs: int = Field(1_000, ge=10, description="held-out human documents for perplexity")
    real_share: float = Field(0.5, gt=0, lt=1, description="fixed-real: share of the training set kept real")
    policies: tuple[str, ...] = BASE_POLICIES
    truncated: tuple[str, ...] = Field(("replace",), description="policies also run with top-p sampling")
    top_p: float = Field(0.9, gt=0, lt=1, description="nucleus of the truncated variants")
    discount: float = Field(0.75, gt=0, lt=1, description="Kneser-Ney absolute discount")
    max_tokens: int = Field(1_000, ge=10, description="longest sampled document (tokens)")
    seed: int = 0
    # metrics
    metric_tokens: int = Field(100_000, ge=100, description="token budget of the lexical metrics per generation")
    tail_top_k: int = Field(1_000, ge=1, description="tail mass: tokens outside the top-k words")
    vendi_sample: int = Field(500, ge=2, description="documents in the Vendi sample")
    n_clusters: int = Field(32, ge=2, description="clusters of the reference diversity model (cluster entropy)")
    gaussian_dims: int = Field(16, ge=1, description="principal components of the representation (closed form)")
    gaussian_components: int = Field(4, ge=1, description="mixture components (1: one Gaussian)")
    nightly: NightlyConfig = NightlyConfig()

    @model_validator(mode="after")
    def _known_policies(self) -> CollapseConfig:
        unknown = [p for p in (*self.policies, *self.truncated) if p not in BASE_POLICIES]
        if unknown:
            raise ValueError(f"unknown policies {unknown}; choose from {list(BASE_POLICIES)}")
        if "wellspring" in self.truncated:
            raise ValueError("the wellspring policy has no truncated variant")
        return self

    @property
    def policy_names(self) -> list[str]:
        return [*self.policies, *(p + TRUNCATED_SUFFIX for p in self.truncated)]

    def human_docs_needed(self) -> int:
        return self.heldout_docs + self.initial_docs + self.generations * self.fresh_docs

    @classmethod
    def quick(cls, **changes: object) -> CollapseConfig:
        """A small setting for the test suite (the shipped sample data, 3 generations, about a minute)."""
        settings: dict[str, object] = {
            "generations": 3,
            "train_docs": 150,
            "initial_docs": 300,
            "fresh_docs": 100,
            "heldout_docs": 200,
            "metric_tokens": 10_000,
            "tail_top_k": 300,
            "vendi_sample": 150,
            "n_clusters": 8,
            "gaussian_dims": 8,
            "gaussian_components": 2,
        }
        return cls.model_validate({**settings, **changes})
