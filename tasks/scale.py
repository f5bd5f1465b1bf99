"""The mapped tasks of a sharded nightly run: one task per input shard or LSH band partition.

Each wraps one step of ``tasks.core.shards``, ``tasks.core.dedup_partitioned`` or
``tasks.core.pipeline`` and returns a few numbers, so results travel cheaply between Dask workers and
the flow. Every step is idempotent (a shard's rows are written once whatever the retries), which is
also how a crashed run resumes; so none of them caches results: a cache entry would outlive the
scratch files the near-dedup steps hand each other.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.core import dedup_partitioned as partitioned
from tasks.core import pipeline, shards
from tasks.core.config import DiversityConfig, IngestConfig, MinHashConfig, PiiConfig, ProvenanceConfig, QualityConfig
from tasks.core.ledger import InputFile
from tasks.core.pipeline import StageResult
from tasks.core.shards import Shard
from tasks.runs import Run


@task(name="plan-shards", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def plan_shards(run: Run, files: list[InputFile], max_bytes: int) -> list[Shard]:
    """Split the new files into shards of at most ``max_bytes`` and store the plan (for a resume)."""
    planned = shards.plan_shards(files, max_bytes)
    shards.record_plan(run.root, run.run_id, planned)
    return planned


@task(name="pending-shards", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def pending_shards(run: Run) -> list[Shard]:
    """The planned shards of a crashed run that the ledger does not list yet."""
    return shards.pending_shards(run.root, shards.planned_shards(run.root, run.run_id))


@task(name="work-shards", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def work_shards(run: Run, max_bytes: int) -> list[Shard]:
    """The shards the later per-shard stages of ``run`` map over."""
    return shards.work_shards(run.root, run.run_id, max_bytes)


@task(
    name="ingest-shard",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[2, 10],
    task_run_name="ingest-shard-{shard.index}",
)
def ingest_shard(run: Run, shard: Shard, cfg: IngestConfig) -> tuple[int, int]:
    """Ingest one shard's files (one ``raw`` commit); returns ``(records, quarantined)``."""
    result = shards.ingest_shard(run.root, run.run_id, shard, cfg)
    return result.records, result.quarantined


@task(name="quarantine-shard", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def quarantine_shard(run: Run, shard: Shard, error: str) -> None:
    """Set aside a shard whose ingest kept failing, with the error as the reason's message."""
    shards.quarantine_shard(run.root, run.run_id, shard, error)


@task(
    name="clean-shard",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[2, 10],
    task_run_name="clean-shard-{shard.index}",
)
def clean_shard(run: Run, shard: Shard, quality: QualityConfig, pii: PiiConfig) -> dict[str, int]:
    """Quality rules and the personal-data rule over one shard's records; the drops by reason."""
    dropped = pipeline.quality_stage(run.root, run.run_id, quality, shard.inputs).dropped
    return {**dropped, **pipeline.pii_stage(run.root, run.run_id, pii, shard.inputs).dropped}


@task(
    name="sign-shard",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[2, 10],
    task_run_name="sign-shard-{shard.index}",
)
def sign_shard(run: Run, shard: Shard, cfg: MinHashConfig, partitions: int) -> int:
    """MinHash signatures and band rows of one shard's records; returns the documents signed."""
    rows = partitioned.dedup_input(run.root, run.run_id, shard.inputs).collect()
    folder = partitioned.scratch_folder(run.root, run.run_id, partitions)
    return partitioned.sign_shard(folder, shard.index, rows, cfg, partitions).documents


@task(
    name="band-partition-candidates",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[2, 10],
    task_run_name="band-partition-{partition}",
)
def band_partition_candidates(run: Run, partition: int, partitions: int, cfg: MinHashConfig) -> int:
    """Verified candidate pairs of one band partition; returns how many were kept."""
    root = run.root
    folder = partitioned.scratch_folder(root, run.run_id, partitions)
    texts = partitioned.run_texts(root, run.run_id)
    index = partitioned.reservoir_index(root)
    return partitioned.partition_candidates(texts, folder, partition, partitions, cfg, index).kept


@task(name="merge-near-duplicate-components", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def merge_components(run: Run, partitions: int, cfg: MinHashConfig) -> int:
    """Clusters and survivors across all partitions' kept pairs; returns the clustered documents."""
    folder = partitioned.scratch_folder(run.root, run.run_id, partitions)
    return partitioned.merge_components(folder, cfg, partitioned.reservoir_index(run.root)).clustered


@task(
    name="finalize-near-dedup-shard",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[2, 10],
    task_run_name="finalize-near-dedup-{shard.index}",
)
def finalize_near_dedup(run: Run, shard: Shard, partitions: int, cfg: MinHashConfig) -> int:
    """One shard's ``near_dup_of`` decisions and its survivors' stored signatures; returns the removed."""
    root = run.root
    folder = partitioned.scratch_folder(root, run.run_id, partitions)
    index = partitioned.reservoir_index(root)
    return partitioned.finalize_shard(root, run.run_id, folder, shard.index, cfg, index).removed


@task(name="clear-near-dedup-scratch", cache_policy=NO_CACHE)
def clear_scratch(run: Run) -> None:
    partitioned.clear_scratch(run.root, run.run_id)


@task(
    name="score-provenance-shard",
    cache_policy=NO_CACHE,
    retries=1,
    retry_delay_seconds=[5],
    task_run_name="score-provenance-{shard.index}",
)
def score_provenance_shard(run: Run, shard: Shard, cfg: ProvenanceConfig) -> StageResult:
    """``p_human`` and its evidence for one shard's surviving records."""
    return pipeline.provenance_stage(run.root, run.run_id, cfg, shard.inputs)


@task(name="prepare-diversity-model", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=[5])
def prepare_diversity_model(run: Run, cfg: DiversityConfig) -> int | None:
    """The diversity model version the shards assign with (refit or first fit as the stage does)."""
    return pipeline.diversity_model_stage(run.root, run.run_id, cfg)


@task(
    name="assign-diversity-shard",
    cache_policy=NO_CACHE,
    retries=1,
    retry_delay_seconds=[5],
    task_run_name="assign-diversity-{shard.index}",
)
def assign_diversity_shard(run: Run, shard: Shard, version: int) -> StageResult:
    """Cluster and novelty of one shard's surviving records."""
    return pipeline.diversity_assign_stage(run.root, run.run_id, version, shard.inputs)


@task(name="apply-diversity-quotas", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=[5])
def apply_diversity_quotas(run: Run, cfg: DiversityConfig, version: int) -> StageResult:
    """Drop what over-full clusters cannot take, over the whole run's assignments."""
    return pipeline.diversity_quota_stage(run.root, run.run_id, cfg, version)
