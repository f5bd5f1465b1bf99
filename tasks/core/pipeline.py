"""The nightly stages over the data root: each reads what it needs, decides, and records.

These are the functions Prefect tasks wrap; they also run on their own (the CLI and the tests
call them directly). Each returns a :class:`StageResult` with the table versions it wrote.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import polars as pl
from deltalake import DeltaTable

from tasks.core import decisions, diversity, minhash, provenance, reservoir
from tasks.core.admission import admission_drops
from tasks.core.clean.pii import PATTERNS as PII_PATTERNS
from tasks.core.clean.pii import pii_counts, redacted
from tasks.core.clean.quality import quality_verdicts
from tasks.core.config import (
    AdmissionConfig,
    IngestConfig,
    MinHashConfig,
    NightlyConfig,
    PiiConfig,
    ProvenanceConfig,
    QualityConfig,
)
from tasks.core.diversity import DiversityConfig
from tasks.core.exact_dedup import exact_duplicates
from tasks.core.ingest import IngestResult, ingest_files
from tasks.core.ledger import InputFile, list_inputs, new_inputs
from tasks.core.storage import DataRoot, TableRef


@dataclass
class StageResult:
    stage: str
    considered: int
    dropped: dict[str, int] = field(default_factory=dict)
    admitted: int = 0
    wrote: list[TableRef] = field(default_factory=list)


def new_run_id(now: dt.datetime | None = None) -> str:
    """``YYYYmmddTHHMMSSZ-xxxxxx``: sortable by time, unique across machines."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def unfinished_runs(root: DataRoot) -> list[str]:
    """Runs that wrote ``raw`` rows but never recorded their end in ``runs``: they crashed, and the
    next nightly run finishes them (every stage is idempotent), oldest first."""
    if not root.exists("raw"):
        return []
    started = {p["run_id"] for p in DeltaTable(root.uri("raw")).partitions()}
    finished = set(root.scan("runs").select("run_id").collect()["run_id"].to_list())
    return sorted(started - finished)


def ingest_stage(root: DataRoot, run_id: str, files: list[InputFile], cfg: IngestConfig) -> IngestResult:
    """Ingest the files the ledger has not seen and this run has not already written (safe to retry)."""
    in_this_run = set(decisions.run_rows(root, "raw", run_id).select("input").unique().collect().to_series().to_list())
    todo = [f for f in new_inputs(root, files) if f.name not in in_this_run]
    return ingest_files(root, run_id, todo, cfg)


def _alive(root: DataRoot, run_id: str, inputs: Sequence[str] | None) -> pl.LazyFrame:
    """:func:`decisions.alive`, restricted to the records of ``inputs`` files (one shard) when given."""
    alive = decisions.alive(root, run_id)
    return alive if inputs is None else alive.filter(pl.col("input").is_in(list(inputs)))


def quality_stage(root: DataRoot, run_id: str, cfg: QualityConfig, inputs: Sequence[str] | None = None) -> StageResult:
    """Drop records that fail a quality rule, with ``low_quality:<rule>`` as the reason (of the
    ``inputs`` shard only, when given)."""
    verdicts = quality_verdicts(_alive(root, run_id, inputs), cfg)
    # Only the failures are held (and counted in the same streaming pass): memory stays flat in the run's size.
    failed, considered = pl.collect_all(
        [verdicts.filter(pl.col("reason").is_not_null()), verdicts.select(pl.len())], engine="streaming"
    )
    ref = decisions.record(root, run_id, "quality", decisions.DROPPED, failed)
    return StageResult("quality", considered.item(), _counts(failed), wrote=[ref])


def pii_stage(root: DataRoot, run_id: str, cfg: PiiConfig, inputs: Sequence[str] | None = None) -> StageResult:
    """With ``pii.mode = drop``, drop records holding personal data as ``pii:<kind>`` (first kind
    found). Redaction, the default, happens at the commit, so dedup still sees the original text."""
    batch = _alive(root, run_id, inputs).select("record_id", "doc_id", "text")
    if cfg.mode != "drop":
        return StageResult("pii", 0)
    found = batch.with_columns(pii_counts(pl.col("text"), cfg.kinds)).collect()
    reason = pl.coalesce([pl.when(pl.col(f"pii_{k}") > 0).then(pl.lit(f"pii:{k}")) for k in cfg.kinds])
    drops = found.select("record_id", "doc_id", reason.alias("reason")).filter(pl.col("reason").is_not_null())
    ref = decisions.record(root, run_id, "pii", decisions.DROPPED, drops)
    return StageResult("pii", found.height, _counts(drops), wrote=[ref])


def exact_dedup_stage(root: DataRoot, run_id: str) -> StageResult:
    """Drop records whose ``doc_id`` is already in the reservoir or earlier in this batch."""
    batch = decisions.alive(root, run_id).select("record_id", "doc_id", "created_at", "input", "position").collect()
    dups = exact_duplicates(batch.lazy(), root.scan("reservoir").select("doc_id")).collect()
    rows = dups.select(
        "record_id",
        "doc_id",
        "dup_of",
        pl.lit("exact_dup_of").alias("reason"),
        pl.when(pl.col("in_reservoir"))
        .then(pl.lit('{"against":"reservoir"}'))
        .otherwise(pl.lit('{"against":"batch"}'))
        .alias("detail"),
    )
    ref = decisions.record(root, run_id, "exact_dedup", decisions.DROPPED, rows)
    return StageResult("exact_dedup", batch.height, _counts(rows), wrote=[ref])


def near_dedup_stage(root: DataRoot, run_id: str, cfg: MinHashConfig) -> StageResult:
    """Drop near-duplicates (MinHash + LSH) within the batch and of reservoir documents.

    Only this batch is hashed: reservoir documents are compared through the stored ``signatures``
    index (restricted to documents really in the reservoir). The survivors' signatures are stored
    (an idempotent insert on ``doc_id``) so that later runs compare against them once admitted.
    """
    columns = ["record_id", "doc_id", "text", "created_at"]
    batch = decisions.alive(root, run_id).select(columns).collect()
    index = None
    if root.exists("signatures") and root.exists("reservoir"):
        index = root.scan("signatures").join(root.scan("reservoir").select("doc_id"), on="doc_id", how="semi")
    found = minhash.near_duplicates(batch.drop("record_id"), cfg, index, signature_columns=True)
    found = found.join(batch.select("record_id", "doc_id"), on="doc_id")
    removed = found.filter(~pl.col("survivor")).select(
        "record_id",
        "doc_id",
        pl.col("near_dup_of").alias("dup_of"),
        pl.col("similarity").alias("score"),
        pl.lit("near_dup_of").alias("reason"),
        pl.format('{{"cluster_id":"{}"}}', pl.col("cluster_id")).alias("detail"),
    )
    wrote = [decisions.record(root, run_id, "near_dedup", decisions.DROPPED, removed)]
    kept = found.filter(pl.col("survivor")).select("doc_id", "sketch", "banding", "signature", "band_hashes")
    if kept.height:
        kept = kept.with_columns(pl.lit(run_id).alias("run_id"))
        wrote.append(root.insert_new("signatures", kept, key="doc_id", metadata={"run_id": run_id}))
    return StageResult("near_dedup", batch.height, _counts(removed), wrote=wrote)


def provenance_stage(
    root: DataRoot, run_id: str, cfg: ProvenanceConfig, inputs: Sequence[str] | None = None
) -> StageResult:
    """Score every surviving record (of the ``inputs`` shard, when given): ``p_human`` and the
    evidence behind it (metadata signals and, once a model is trained, the text classifier), written
    to ``scores``. Admission applies the threshold."""
    columns = ["record_id", "doc_id", "text", "source", "url", "domain", "fetched_at", "created_at", "license", "meta"]
    batch = _alive(root, run_id, inputs).select(columns).collect()
    if batch.height == 0:
        return StageResult("provenance", 0)
    model = provenance.load_model(root, cfg.model_version) if provenance.versions(root) else None
    scored = provenance.score(batch, cfg, model, provenance.load_registry(root))
    rows = scored.select("record_id", "doc_id", "p_human", "evidence").with_columns(
        pl.lit(model.info.get("version") if model else None, dtype=pl.Int64).alias("model_version")
    )
    return StageResult("provenance", batch.height, wrote=[decisions.record_scores(root, run_id, "provenance", rows)])


def diversity_stage(root: DataRoot, run_id: str, cfg: DiversityConfig) -> StageResult:
    """Give every surviving record a diversity cluster and novelty, and drop what an over-full
    cluster cannot take (``quota:cluster``).

    The model is the latest stored one; it is refit on the reservoir when the reservoir has grown
    past ``refresh_factor`` (or fit on this batch when the reservoir is still empty). On a cluster
    the three parts run separately: :func:`diversity_model_stage` once, :func:`diversity_assign_stage`
    per shard, :func:`diversity_quota_stage` once.
    """
    considered = _alive_count(root, run_id)
    model = _diversity_model(root, run_id, cfg) if considered else None
    if model is None:
        return StageResult("diversity", considered)
    assigned, scores_ref = _assign(root, run_id, model, None)
    drops, ref = _quota_drops(root, run_id, cfg, model, assigned)
    return StageResult("diversity", assigned.height, _counts(drops), wrote=[scores_ref, ref])


def diversity_model_stage(root: DataRoot, run_id: str, cfg: DiversityConfig) -> int | None:
    """The version of the diversity model this run assigns with: the latest, refit on the reservoir
    when it grew past ``refresh_factor``, or fit on the batch while the reservoir is still empty.
    ``None`` when there is nothing to assign or nothing to fit on yet (no model, under two records)."""
    model = _diversity_model(root, run_id, cfg) if _alive_count(root, run_id) else None
    return None if model is None else model.info.version


def _alive_count(root: DataRoot, run_id: str) -> int:
    return int(decisions.alive(root, run_id).select(pl.len()).collect().item())


def _diversity_model(root: DataRoot, run_id: str, cfg: DiversityConfig) -> diversity.DiversityModel | None:
    in_reservoir = _reservoir_size(root)
    model = diversity.latest_model(root)
    if diversity.needs_refresh(model, in_reservoir, cfg):
        if in_reservoir >= cfg.n_clusters:
            model = diversity.fit_reservoir(root, cfg)
        elif model is None:
            batch = decisions.alive(root, run_id).select("doc_id", "text").collect()
            if batch.height < 2:
                return None  # nothing to fit clusters on yet; later runs will
            model = diversity.save_model(root, diversity.fit_model(batch.sort("doc_id"), cfg))
    return model


def _assign(
    root: DataRoot, run_id: str, model: diversity.DiversityModel, inputs: Sequence[str] | None
) -> tuple[pl.DataFrame, TableRef]:
    batch = _alive(root, run_id, inputs).select("record_id", "doc_id", "text").collect()
    assigned = diversity.assign(batch.select("doc_id", "text"), model).join(
        batch.select("record_id", "doc_id"), on="doc_id"
    )
    rows = assigned.select("record_id", "doc_id", "cluster_id", "novelty", "cluster_share").with_columns(
        pl.lit(model.info.version, dtype=pl.Int64).alias("model_version")
    )
    return assigned, decisions.record_scores(root, run_id, "diversity", rows)


def diversity_assign_stage(root: DataRoot, run_id: str, version: int, inputs: Sequence[str] | None) -> StageResult:
    """Cluster and novelty of the surviving records of ``inputs`` (one shard) with model ``version``,
    written to ``scores``."""
    assigned, ref = _assign(root, run_id, diversity.load_model(root, version), inputs)
    return StageResult("diversity", assigned.height, wrote=[ref])


def diversity_quota_stage(root: DataRoot, run_id: str, cfg: DiversityConfig, version: int) -> StageResult:
    """Drop what an over-full cluster cannot take (``quota:cluster``), from the scores the shards
    wrote with model ``version`` (the run's ``cluster_id`` and ``novelty`` columns only)."""
    assigned = (
        decisions.run_rows(root, "scores", run_id)
        .filter((pl.col("stage") == "diversity") & (pl.col("model_version") == version))
        .join(decisions.alive(root, run_id).select("record_id"), on="record_id", how="semi")
        .select("record_id", "doc_id", "cluster_id", "novelty")
        .unique("record_id", keep="first")
        .sort("doc_id")
        .collect()
    )
    if assigned.height == 0:
        return StageResult("diversity", 0)
    drops, ref = _quota_drops(root, run_id, cfg, diversity.load_model(root, version), assigned)
    return StageResult("diversity", assigned.height, _counts(drops), wrote=[ref])


def _quota_drops(
    root: DataRoot, run_id: str, cfg: DiversityConfig, model: diversity.DiversityModel, assigned: pl.DataFrame
) -> tuple[pl.DataFrame, TableRef]:
    # The reservoir's documents per cluster, estimated from the fit set's proportions (a refit
    # renumbers clusters, so stored cluster ids of older documents are not comparable).
    in_reservoir = _reservoir_size(root)
    fitted = max(1, int(model.cluster_counts.sum()))
    held = {i: round(int(n) * in_reservoir / fitted) for i, n in enumerate(model.cluster_counts)}
    over = set(diversity.cluster_quota_drops(assigned, held, cfg))
    drops = assigned.filter(pl.col("doc_id").is_in(list(over))).select(
        "record_id",
        "doc_id",
        pl.lit("quota:cluster").alias("reason"),
        pl.format('{{"cluster_id":{}}}', "cluster_id").alias("detail"),
    )
    return drops, decisions.record(root, run_id, "diversity", decisions.DROPPED, drops)


def _reservoir_size(root: DataRoot) -> int:
    if not root.exists("reservoir"):
        return 0
    return int(root.scan("reservoir").filter(reservoir.ACTIVE).select(pl.len()).collect().item())


def admission_stage(root: DataRoot, run_id: str, cfg: AdmissionConfig) -> StageResult:
    """Drop survivors the admission policy refuses (``low_provenance``, ``quota:source`` ...)."""
    batch = decisions.scored(root, run_id).drop("text").collect()
    if batch["p_human"].null_count() == batch.height:
        batch = batch.drop("p_human")  # not scored yet: the threshold does not apply
    drops = admission_drops(batch, root.scan("reservoir"), cfg)
    ref = decisions.record(root, run_id, "admission", decisions.DROPPED, drops)
    return StageResult("admission", batch.height, _counts(drops), wrote=[ref])


def commit_stage(
    root: DataRoot, run_id: str, metadata: dict[str, str] | None = None, pii: PiiConfig | None = None
) -> StageResult:
    """Admit every record still alive into the reservoir as one version (idempotent on ``doc_id``).

    Personal data is redacted in the stored text (``pii.mode = redact``) and counted in the
    admitted decision's ``detail``. A record whose ``doc_id`` a concurrent run admitted first is
    dropped as ``exact_dup_of`` instead, so the decisions always agree with what the reservoir holds.
    """
    pii = pii or PiiConfig()
    survivors = decisions.scored(root, run_id).collect()
    found = pii_counts(pl.col("text"), pii.kinds) if pii.mode == "redact" else []
    survivors = survivors.with_columns(found)
    if found:
        survivors = survivors.with_columns(redacted(pl.col("text"), pii.kinds).alias("text"))
    pii_columns = [f"pii_{k}" for k in pii.kinds] if found else []
    detail = (
        pl.concat_str(
            [
                pl.lit('{"pii":{'),
                pl.concat_str([pl.format('"{}":{}', pl.lit(c[4:]), pl.col(c)) for c in pii_columns], separator=","),
                pl.lit("}}"),
            ]
        )
        if pii_columns
        else pl.lit(None, dtype=pl.String)
    )
    inputs = decisions.run_rows(root, "ledger", run_id).select("input").collect()["input"].to_list()
    metadata = {**(metadata or {}), "inputs": orjson.dumps(inputs[:100]).decode(), "candidates": str(survivors.height)}
    ref, admitted_ids = reservoir.commit(root, run_id, survivors.drop(pii_columns), metadata)
    admitted = survivors.filter(pl.col("doc_id").is_in(list(admitted_ids))).select(
        "record_id", "doc_id", pl.col("p_human").alias("score"), detail.alias("detail")
    )
    raced = survivors.join(admitted, on="record_id", how="anti").select(
        "record_id",
        "doc_id",
        pl.col("doc_id").alias("dup_of"),
        pl.lit("exact_dup_of").alias("reason"),
        pl.lit('{"against":"reservoir","concurrent":true}').alias("detail"),
    )
    wrote = [ref, decisions.record(root, run_id, "commit", decisions.DROPPED, raced)]
    wrote.append(decisions.record(root, run_id, "commit", decisions.ADMITTED, admitted))
    return StageResult("commit", survivors.height, _counts(raced), admitted=admitted.height, wrote=wrote)


def run_summary(root: DataRoot, run_id: str) -> dict[str, object]:
    """The counts of one run, read back from the tables (so they match what is stored)."""
    ingested = decisions.run_rows(root, "raw", run_id).select(pl.len()).collect().item()
    quarantine = decisions.run_rows(root, "quarantine", run_id).group_by("reason").len().collect()
    verdicts = decisions.run_rows(root, "decisions", run_id).select("stage", "verdict", "reason", "detail").collect()
    admitted_pii = (
        verdicts.filter(pl.col("verdict") == decisions.ADMITTED)
        .select(pl.col("detail").str.json_path_match(f"$.pii.{k}").cast(pl.Int64).alias(k) for k in PII_PATTERNS)
        .select((pl.all() > 0).sum())
    )
    dropped = verdicts.filter(pl.col("verdict") == decisions.DROPPED)
    return {
        "run_id": run_id,
        "ingested": ingested,
        "quarantined": int(quarantine["len"].sum()),
        "quarantine_reasons": dict(
            Counter(dict(zip(quarantine["reason"], quarantine["len"], strict=True))).most_common()
        ),
        "dropped": _counts(dropped),
        "dropped_by_stage": _counts(dropped, "stage"),
        "admitted": verdicts.filter(pl.col("verdict") == decisions.ADMITTED).height,
        "undecided": ingested - verdicts.height,
        "p_human": _p_human_summary(root, run_id),
        "pii_redacted_documents": {k: int(v) for k, v in admitted_pii.row(0, named=True).items() if v},
    }


def diversity_of_run(root: DataRoot, run_id: str, cfg: DiversityConfig) -> dict[str, object]:
    """Diversity metrics of the documents this run admitted, and of the reservoir with their change
    since the previous reservoir version (for the run summary)."""
    admitted = (
        decisions.run_rows(root, "decisions", run_id)
        .filter(pl.col("verdict") == decisions.ADMITTED)
        .select("doc_id")
        .join(root.scan("reservoir").select("doc_id", "text", "cluster_id"), on="doc_id")
        .collect()
    )
    if admitted.height == 0:
        return {}
    model = diversity.latest_model(root)
    batch = diversity.set_metrics(
        admitted["text"], cfg, clusters=admitted["cluster_id"], representation=model.representation if model else None
    )
    return {"batch": batch.to_dict(), "reservoir": diversity.diversity_summary(root, cfg=cfg).to_dict()}


def record_run(
    root: DataRoot,
    run_id: str,
    started_at: dt.datetime,
    inbox: str,
    cfg: NightlyConfig,
    summary: dict[str, object],
    flow_run_id: str | None = None,
) -> TableRef:
    """Append the run's record (times, config hash, summary with table versions) to ``runs``."""
    row = {
        "run_id": run_id,
        "flow_run_id": flow_run_id,
        "inbox": inbox,
        "started_at": started_at,
        "finished_at": dt.datetime.now(dt.UTC),
        "config_hash": cfg.config_hash(),
        "summary": orjson.dumps(summary).decode(),
    }
    return root.append("runs", pl.DataFrame([row]), {"run_id": run_id})


def _p_human_summary(root: DataRoot, run_id: str) -> dict[str, object]:
    """Distribution of ``p_human`` over the run's scored records and the most common evidence."""
    scores = decisions.run_rows(root, "scores", run_id).filter(pl.col("stage") == "provenance")
    found = scores.select("record_id", "p_human", "evidence").unique("record_id").collect()
    if found.height == 0:
        return {}
    p = found["p_human"]
    labels = ["<0.1", "0.1-0.5", "0.5-0.9", ">=0.9"]  # left-closed bins, as the labels say
    bins = found.select(pl.col("p_human").bin_intervals([0.1, 0.5, 0.9], labels=labels, right_closed=False))
    signals = (
        found.select(pl.col("evidence").str.json_decode(pl.List(pl.Struct({"signal": pl.String}))))
        .explode("evidence")
        .select(pl.col("evidence").struct.field("signal"))
        .group_by("signal")
        .len()
        .sort(["len", "signal"], descending=[True, False])
        .head(8)
    )
    return {
        "scored": found.height,
        "mean": round(float(p.mean()), 4),  # type: ignore[arg-type]
        "histogram": {str(k): int(v) for k, v in bins.to_series().value_counts(sort=True).iter_rows()},
        "top_signals": {str(k): int(v) for k, v in signals.iter_rows()},
    }


def _counts(frame: pl.DataFrame, by: str = "reason") -> dict[str, int]:
    if frame.height == 0:
        return {}
    counted = frame.group_by(by).len().sort(["len", by], descending=[True, False])
    return dict(zip(counted[by].to_list(), counted["len"].to_list(), strict=True))


def curate_inbox(root: DataRoot, inbox: Path, cfg: NightlyConfig | None = None) -> dict[str, object]:
    """Every nightly stage on ``inbox`` as one run, without Prefect, in the order of
    ``flows.nightly.curate`` (keep the two in step); returns the run summary.

    The benchmarks and the tests use it as the reference of what a nightly run does."""
    cfg = cfg or NightlyConfig()
    run_id = new_run_id()
    started = dt.datetime.now(dt.UTC)
    ingest_stage(root, run_id, list_inputs([inbox]), cfg.ingest)
    quality_stage(root, run_id, cfg.quality)
    pii_stage(root, run_id, cfg.pii)
    exact_dedup_stage(root, run_id)
    near_dedup_stage(root, run_id, cfg.minhash)
    provenance_stage(root, run_id, cfg.provenance)
    diversity_stage(root, run_id, cfg.diversity)
    admission_stage(root, run_id, cfg.admission)
    commit_stage(root, run_id, pii=cfg.pii)
    summary = run_summary(root, run_id)
    record_run(root, run_id, started, str(inbox), cfg, summary)
    return summary
