"""The nightly curation flow: new scraped files in, reservoir updated.

By default every stage runs in this process, one input shard after another. Given a Dask scheduler
address or a number of local workers (``--dask-address`` / ``--workers``, or
``$WELLSPRING_DASK_ADDRESS``), the same run is a subflow on a ``prefect_dask.DaskTaskRunner`` whose
heavy stages are mapped tasks: ingest and cleaning per shard, MinHash signatures per shard, candidate
pairs per LSH band partition, provenance and diversity scoring per shard. Both give the same
reservoir and the same decisions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from prefect import flow, unmapped
from prefect.futures import PrefectFuture, wait

from flows.credentials import apply_storage_block
from tasks import scale
from tasks.artifacts import StageProgress
from tasks.clean import apply_quality_rules, drop_personal_data
from tasks.core.cluster import Execution, resolve_execution
from tasks.core.config import NightlyConfig, load_config
from tasks.core.shards import Shard
from tasks.core.storage import DataRoot
from tasks.dedup import drop_exact_duplicates, drop_near_duplicates
from tasks.diversity import score_diversity
from tasks.hooks import record_failure
from tasks.provenance import score_provenance
from tasks.reservoir import apply_admission_policy, commit_to_reservoir
from tasks.runs import Run, find_new_inputs, find_unfinished_runs, maintain_tables, start_run, summarize_run


def _run_name() -> str:
    return f"nightly-{dt.datetime.now(dt.UTC):%Y-%m-%d-%H%M}"


def curate(run: Run, cfg: NightlyConfig) -> dict[str, object]:
    """Every stage after ingest, in order; each one is idempotent, so a crashed run can be re-curated."""
    progress = StageProgress(8, f"run {run.run_id}")
    apply_quality_rules(run, cfg.quality)
    progress.advance("quality rules")
    drop_personal_data(run, cfg.pii)
    progress.advance("personal data")
    drop_exact_duplicates(run)
    progress.advance("exact dedup")
    drop_near_duplicates(run, cfg.minhash)
    progress.advance("near dedup")
    score_provenance(run, cfg.provenance)
    progress.advance("provenance")
    score_diversity(run, cfg.diversity)
    progress.advance("diversity")
    apply_admission_policy(run, cfg.admission)
    progress.advance("admission")
    commit_to_reservoir(run, cfg)
    progress.advance("reservoir commit")
    return summarize_run(run, cfg)


def curate_sharded(run: Run, cfg: NightlyConfig, execution: Execution) -> dict[str, object]:
    """:func:`curate` with the heavy stages mapped over shards and band partitions (same results)."""
    progress = StageProgress(8, f"run {run.run_id}")
    shards = scale.work_shards(run, execution.shard_bytes)
    _results(scale.clean_shard.map(unmapped(run), shards, unmapped(cfg.quality), unmapped(cfg.pii)))
    progress.advance("quality rules and personal data")
    drop_exact_duplicates(run)
    progress.advance("exact dedup")
    partitions, minhash = execution.band_partitions(len(shards)), cfg.minhash
    _results(scale.sign_shard.map(unmapped(run), shards, unmapped(minhash), unmapped(partitions)))
    _results(
        scale.band_partition_candidates.map(unmapped(run), range(partitions), unmapped(partitions), unmapped(minhash))
    )
    scale.merge_components(run, partitions, minhash)
    _results(scale.finalize_near_dedup.map(unmapped(run), shards, unmapped(partitions), unmapped(minhash)))
    scale.clear_scratch(run)
    progress.advance("near dedup")
    _results(scale.score_provenance_shard.map(unmapped(run), shards, unmapped(cfg.provenance)))
    progress.advance("provenance")
    version = scale.prepare_diversity_model(run, cfg.diversity)
    if version is not None:
        _results(scale.assign_diversity_shard.map(unmapped(run), shards, unmapped(version)))
        scale.apply_diversity_quotas(run, cfg.diversity, version)
    progress.advance("diversity")
    apply_admission_policy(run, cfg.admission)
    progress.advance("admission")
    commit_to_reservoir(run, cfg)
    progress.advance("reservoir commit")
    progress.advance("summary")
    return summarize_run(run, cfg)


def _results(futures: Sequence[PrefectFuture[Any]]) -> list[Any]:
    """Wait for every mapped task, then raise the first failure (after each task's own retries)."""
    wait(list(futures))
    return [f.result() for f in futures]


def ingest_shards(run: Run, shards: Sequence[Shard], cfg: NightlyConfig, mapped: bool) -> None:
    """Ingest each shard (mapped on the cluster, one after another here); a shard that still fails
    after its retries is quarantined and the others carry on."""
    if mapped:
        futures = scale.ingest_shard.map(unmapped(run), shards, unmapped(cfg.ingest))
        wait(list(futures))
        states = [f.state for f in futures]
    else:
        states = [scale.ingest_shard(run, shard, cfg.ingest, return_state=True) for shard in shards]
    for shard, state in zip(shards, states, strict=True):
        if not state.is_completed():
            scale.quarantine_shard(run, shard, _error(state))


def _error(state: Any) -> str:
    try:
        state.result()
    except BaseException as e:  # the failure the task raised (or the crash of its worker)
        return f"{type(e).__name__}: {e}"
    return state.message or state.name or "failed"


def _nightly(inbox: str, home: str | None, cfg: NightlyConfig, execution: Execution) -> dict[str, object]:
    mapped = execution.on_dask
    for crashed in find_unfinished_runs(home):
        # finish the crashed run as planned: the shards it had not ingested yet, then every stage
        ingest_shards(crashed, scale.pending_shards(crashed), cfg, mapped)
        _curate(crashed, cfg, execution)
    run = start_run(home, inbox)
    shards = scale.plan_shards(run, find_new_inputs(run), execution.shard_bytes)
    ingest_shards(run, shards, cfg, mapped)
    return _curate(run, cfg, execution)


def _curate(run: Run, cfg: NightlyConfig, execution: Execution) -> dict[str, object]:
    return curate_sharded(run, cfg, execution) if execution.on_dask else curate(run, cfg)


@flow(name="nightly-curation-dask", flow_run_name=_run_name, log_prints=True)
def nightly_on_dask(
    inbox: str, home: str | None, config: str | None, shard_bytes: int, partitions: int
) -> dict[str, object]:
    """The nightly run with its mapped tasks on the Dask cluster this subflow's task runner holds."""
    execution = Execution(address="(the task runner's)", shard_bytes=shard_bytes, partitions=partitions)
    return _nightly(inbox, home, load_config(config), execution)


def dask_task_runner(execution: Execution) -> Any:
    """A ``DaskTaskRunner`` on the existing scheduler, or on a local cluster of worker processes."""
    from prefect_dask import DaskTaskRunner  # imported here: the default path does not need Dask

    if execution.address:
        return DaskTaskRunner(address=execution.address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": execution.workers,
            "threads_per_worker": 1,  # one task per process: memory per worker is one shard's
            "processes": True,
            "dashboard_address": None,
        },
    )


@flow(name="nightly-curation", flow_run_name=_run_name, log_prints=True, on_failure=[record_failure])
def nightly_flow(
    inbox: str,
    home: str | None = None,
    config: str | None = None,
    dask_address: str | None = None,
    workers: int | None = None,
    storage_block: str | None = None,
) -> dict[str, object]:
    """Ingest new files from ``inbox``, clean, deduplicate, and admit survivors to the reservoir.

    Returns the run summary: ``run_id``, ``ingested``, ``quarantined``, ``dropped`` (by reason),
    ``admitted`` and the table versions after the run. One nightly run at a time holds the data
    root's lock; a run that crashed earlier is finished first (its remaining shards, then its stages).
    With ``dask_address`` (an existing scheduler) or ``workers`` (a local cluster of that many
    processes), or ``$WELLSPRING_DASK_ADDRESS``, the heavy stages run as mapped tasks on Dask.
    ``storage_block`` names a Prefect ``Secret`` block of object-storage settings (:mod:`flows.credentials`).
    """
    apply_storage_block(storage_block)
    cfg = load_config(config)
    execution = resolve_execution(dask_address, workers)
    with DataRoot.at(home).lock("nightly"):
        if execution.on_dask:
            on_dask = nightly_on_dask.with_options(task_runner=dask_task_runner(execution))
            summary = on_dask(inbox, home, config, execution.shard_bytes, execution.partitions)
        else:
            summary = _nightly(inbox, home, cfg, execution)
        summary["maintenance"] = maintain_tables(home)  # after the run is recorded: housekeeping, not a result
        return summary
