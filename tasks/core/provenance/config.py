"""Configuration of provenance scoring (to move into ``tasks.core.config`` later).

All weights are log-odds (natural log): ``+1`` multiplies the odds of "human-written" by e ~ 2.7,
``+3`` by ~20, ``-8`` divides them by ~3,000. See ``tasks.core.provenance`` for how they combine.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from tasks.core.config import Frozen


class ProvenanceConfig(Frozen):
    """How ``p_human`` is computed: the prior, each signal's weight, and the classifier's pin."""

    logic_version: int = 1
    cutoff: dt.date = Field(
        dt.date(2022, 11, 30), description="public release of ChatGPT: before it, web text is human"
    )
    prior_log_odds: float = Field(0.0, description="log-odds of human before any evidence (0 = even odds)")
    min_p_human: float = Field(0.5, ge=0, le=1, description="admission threshold used by the reservoir")

    # dates
    date_before_cutoff: float = Field(3.0, description="created_at (or the earliest credible date) before the cutoff")
    fetched_before_cutoff: float = Field(3.0, description="the crawler saw the page before the cutoff")
    modified_before_cutoff: float = Field(
        2.0, description="HTTP Last-Modified or a date field in meta before the cutoff"
    )
    date_after_cutoff: float = Field(-0.25, description="the earliest credible date is after the cutoff")
    min_year: int = Field(
        1400,
        ge=1,
        description="earlier years are parse errors or forged headers (e-mail 'year 0102'), not evidence",
    )
    date_slack_days: int = Field(2, ge=0, description="time-zone slack when comparing a date with fetched_at or today")
    as_of: dt.date | None = Field(None, description="'today' for the future-date guard (None: the current UTC date)")

    # source, licence, creator
    trust_log_odds: dict[str, float] = Field(
        default_factory=lambda: {
            "archival": 3.0,
            "trusted": 2.0,
            "neutral": 0.0,
            "suspect": -1.5,
            "synthetic": -6.0,
        },
        description="log-odds per trust level of the source registry",
    )
    unknown_source: float = Field(0.0, description="a source the registry does not list")
    declared_license: float = Field(0.3, description="a licence is declared (someone claimed authorship rights)")
    declared_creator: float = Field(0.5, description="a human creator/author field in meta")

    # explicit machine-generation disclosures
    disclosed_machine: float = Field(-8.0, description="metadata says the text was machine-generated")
    partly_machine: float = Field(-3.0, description="metadata says the text was composited with machine output")
    self_disclosure: float = Field(-2.0, description="the text says 'as an AI language model' or names a chat model")

    # classifier
    classifier_weight: float = Field(1.0, ge=0, description="scale of the classifier's log-likelihood ratio")
    classifier_clip: float = Field(4.0, gt=0, description="|classifier log-odds| never exceeds this")
    model_version: int | None = Field(None, ge=1, description="pin a stored model version (None: latest)")

    # training
    train_per_source: int = Field(300, ge=1, description="human documents sampled per source for training")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="held out of training for the reported metrics")
    regularization_c: float = Field(1.0, gt=0, description="inverse L2 strength of the logistic regression")

    @model_validator(mode="after")
    def _levels(self) -> ProvenanceConfig:
        required = {"archival", "trusted", "neutral", "suspect", "synthetic"}
        missing = required - set(self.trust_log_odds)
        if missing:
            raise ValueError(f"trust_log_odds lacks levels {sorted(missing)}")
        return self
