"""Typed, frozen configuration for every stage, in one place.

Config flows one way: a YAML file or CLI flags -> flow parameters -> task -> core function.
Each stage config carries a ``logic_version``; bump it whenever the stage's code changes what it
computes, so cached results keyed on the config are never stale.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasks.core.errors import ConfigError

MiB = 1024 * 1024


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def config_hash(self) -> str:
        """A short stable hash of every field, used in cache keys and run records."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


class FieldMap(Frozen):
    """Which input field feeds each canonical column. The first name present in a record wins."""

    text: tuple[str, ...] = ("text", "content", "body", "raw_content")
    source: tuple[str, ...] = ("source", "dataset")
    url: tuple[str, ...] = ("url", "origin", "link", "uri")
    fetched_at: tuple[str, ...] = ("fetched_at", "crawl_date", "warc_date")
    created_at: tuple[str, ...] = ("created_at", "date", "published", "timestamp")
    license: tuple[str, ...] = ("license", "licence", "rights")
    lang: tuple[str, ...] = ("lang", "language")
    id: tuple[str, ...] = ("id", "doc_id", "uid")


class IngestConfig(Frozen):
    """Reading inputs into the ``raw`` and ``quarantine`` tables."""

    logic_version: int = 1
    batch_rows: int = Field(20_000, ge=1, description="records per streamed batch")
    max_record_bytes: int = Field(8 * MiB, ge=1, description="larger records are quarantined")
    max_file_bytes: int = Field(256 * MiB, ge=1, description="limit for formats read whole (HTML, text, JSON array)")
    max_decompressed_bytes: int = Field(16 * 1024 * MiB, ge=1, description="decompression-bomb guard (total)")
    max_compression_ratio: float = Field(200.0, gt=1, description="decompression-bomb guard (ratio)")
    bomb_ratio_floor_bytes: int = Field(64 * MiB, ge=0, description="ratio guard applies beyond this size")
    quarantine_keep_bytes: int = Field(64 * 1024, ge=0, description="bytes of a bad record kept in quarantine")
    detect_language: Literal["missing", "always", "never"] = "missing"
    langid_chars: int = Field(400, ge=20, description="characters of text given to the language identifier")
    default_source: str | None = Field(None, description="source for records that carry none (default: file stem)")
    fields: FieldMap = FieldMap()
    sources: dict[str, FieldMap] = Field(default_factory=dict, description="per-source field mapping overrides")

    def field_map(self, source: str | None) -> FieldMap:
        return self.sources.get(source or "", self.fields)


class QualityConfig(Frozen):
    """Gopher / C4 / FineWeb style quality rules. Defaults keep short human texts such as
    dictionary entries and quotations, which are rare and valuable, and drop junk."""

    logic_version: int = 1
    min_words: int = 3
    max_words: int = 200_000
    min_mean_word_length: float = 2.0
    max_mean_word_length: float = 15.0
    max_symbol_ratio: float = Field(0.15, description="'#' and '...' per word (Gopher: 0.1)")
    min_alpha_word_ratio: float = Field(0.5, description="share of words with a letter (Gopher: 0.8)")
    min_stop_words: int = Field(1, description="English stop words required in English texts over 20 words")
    max_duplicate_line_ratio: float = Field(0.5, description="share of lines that repeat an earlier line")
    max_bullet_line_ratio: float = 0.9
    max_ellipsis_line_ratio: float = 0.3
    max_boilerplate_line_ratio: float = Field(0.5, description="cookie / javascript / lorem ipsum lines (C4)")
    max_replacement_char_ratio: float = Field(0.01, description="U+FFFD per character: mojibake")
    languages: tuple[str, ...] | None = Field(None, description="keep only these languages (None: all)")


class PiiConfig(Frozen):
    """Personal data (see ``tasks.core.clean.pii``): redact it in stored text, drop the document, or leave it."""

    logic_version: int = 1
    mode: Literal["redact", "drop", "off"] = "redact"
    kinds: tuple[Literal["email", "ip", "phone"], ...] = ("email", "ip", "phone")


class ExactDedupConfig(Frozen):
    logic_version: int = 1


class MinHashConfig(Frozen):
    """MinHash near-duplicate detection (see ``tasks.core.minhash``)."""

    logic_version: int = 2
    num_perm: int = Field(128, ge=2, le=1024)
    ngram: int = Field(5, ge=1)
    shingle: Literal["word", "char"] = "word"
    seed: int = 1
    threshold: float = Field(0.8, gt=0, lt=1)
    bands: int | None = None
    rows: int | None = None
    verify: bool = True
    reservoir_wins: bool = Field(True, description="a reservoir document survives over a new near-duplicate")

    @model_validator(mode="after")
    def _bands_rows(self) -> MinHashConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows={self.bands * self.rows} exceeds num_perm={self.num_perm}")
        return self


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
        0.2, gt=0, le=1, description="a cluster may hold at most this share of the reservoir (None: no quota)"
    )
    quota_min_docs: int = Field(1_000, ge=0, description="every cluster may hold at least this many documents")

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


# Provenance weights are log-odds (natural log): +1 multiplies the odds of "human-written" by e ~ 2.7,
# +3 by ~20, -8 divides them by ~3,000. See ``tasks.core.provenance`` for how they combine.
class ProvenanceConfig(Frozen):
    """How ``p_human`` is computed: the prior, each signal's weight, and the classifier's pin."""

    logic_version: int = 1
    cutoff: dt.date = Field(
        dt.date(2022, 11, 30), description="public release of ChatGPT: before it, web text is human"
    )
    prior_log_odds: float = Field(0.0, description="log-odds of human before any evidence (0 = even odds)")

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
    disclosed_machine: float = Field(-12.0, description="metadata says the text was machine-generated")
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


class AdmissionConfig(Frozen):
    """Who may enter the reservoir (see ``tasks.core.admission``)."""

    logic_version: int = 1
    min_p_human: float | None = Field(0.5, ge=0, le=1, description="applies once documents are scored")
    max_docs_per_source: int | None = Field(None, ge=0, description="reservoir documents per source")
    max_docs_per_domain: int | None = Field(None, ge=0, description="reservoir documents per web domain")


class BuildConfig(Frozen):
    """Sampling rules of a dataset build (see ``tasks.core.build.sampling`` and the README)."""

    logic_version: int = 1
    size: int = Field(..., gt=0, description="documents in the build")
    seed: int = 0
    reservoir_version: int | None = Field(None, description="pinned reservoir version (None: latest)")
    min_human: float = Field(0.9, ge=0, le=1, description="minimum share of reservoir (human) documents")
    max_synthetic: float = Field(0.0, ge=0, le=1, description="cap on the share of --synthetic documents")
    p_human_power: float = Field(1.0, ge=0, description="weight ~ p_human ** power (0: ignore the score)")
    cluster_temperature: float = Field(
        0.5, ge=0, le=1, description="cluster mass ~ size ** temperature (1: proportional, 0: uniform)"
    )
    novelty_boost: float = Field(1.0, ge=0, description="weight *= 1 + boost * novelty (tail documents)")
    rarity_boost: float = Field(8.0, ge=0, description="weight *= 1 + boost * share of rare words (lexical tail)")
    max_source_share: float | None = Field(0.5, gt=0, le=1, description="per-source cap as a share of the build")
    shard_rows: int = Field(50_000, gt=0, description="rows per Parquet shard")


class NightlyConfig(Frozen):
    """Everything the nightly flow needs; loaded from ``wellspring.yaml`` when present."""

    ingest: IngestConfig = IngestConfig()
    quality: QualityConfig = QualityConfig()
    pii: PiiConfig = PiiConfig()
    exact_dedup: ExactDedupConfig = ExactDedupConfig()
    minhash: MinHashConfig = MinHashConfig()
    provenance: ProvenanceConfig = ProvenanceConfig()
    diversity: DiversityConfig = DiversityConfig()
    admission: AdmissionConfig = AdmissionConfig()


def load_config(path: str | Path | None) -> NightlyConfig:
    """Read a YAML config file (sections ``ingest``, ``quality``, ...); ``None`` gives the defaults."""
    if path is None:
        return NightlyConfig()
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text()) or {}
        return NightlyConfig.model_validate(data)
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {p} is not valid YAML: {e}") from e
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"config file {p}: {where}: {first['msg']}") from e
