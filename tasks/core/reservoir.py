"""The versioned reservoir of human data: commits, history, time travel, retraction, retention.

Every change is one Delta commit, so every reservoir version is a reproducible snapshot that
builds can pin. Documents only accumulate: a retraction marks a document (``retracted``,
``retracted_at``, ``retraction_reason``) and logs it in the ``retractions`` audit table; only a
purge rewrites the stored text away, and only when no recorded build still needs it.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Sequence
from typing import Any

import polars as pl
from deltalake import DeltaTable

from tasks.core.errors import NotFoundError, WellspringError
from tasks.core.storage import DataRoot, TableRef, commit_properties

TABLE = "reservoir"
ACTIVE = pl.col("retracted").fill_null(False).not_()


class RetractionRefused(WellspringError):
    """A purge would destroy text that a recorded build still needs."""


def commit(root: DataRoot, run_id: str, docs: pl.DataFrame, metadata: dict[str, str]) -> tuple[TableRef, set[str]]:
    """Insert ``docs`` (``raw``-shaped rows) whose ``doc_id`` is new; return the new version and the
    ``doc_id`` s this run really admitted (a concurrent run may have admitted some of them first)."""
    if docs.height == 0:
        return root.ref(TABLE), set()
    now = dt.datetime.now(dt.UTC)
    rows = docs.select(
        pl.exclude("run_id", "input", "position"),
        pl.col("text").str.len_chars().cast(pl.Int64).alias("n_chars"),
        pl.lit(run_id).alias("admitted_run"),
        pl.lit(now).dt.replace_time_zone("UTC").alias("admitted_at"),
        pl.lit(False).alias("retracted"),
    )
    ref = root.insert_new(TABLE, rows, key="doc_id", metadata={**metadata, "run_id": run_id, "action": "commit"})
    mine = (
        root.scan(TABLE)
        .filter((pl.col("admitted_run") == run_id) & pl.col("doc_id").is_in(docs["doc_id"].to_list()))
        .select("doc_id")
        .collect()
    )
    return ref, set(mine["doc_id"].to_list())


def resolve_version(root: DataRoot, version: int | None = None, as_of: dt.datetime | None = None) -> int:
    """The reservoir version to read: ``version``, else the last one committed at or before ``as_of``,
    else the latest."""
    latest = root.ref(TABLE).version
    if latest is None:
        raise NotFoundError(f"the reservoir in {root.home} is empty: run the nightly flow first")
    if version is not None:
        if not 0 <= version <= latest:
            raise NotFoundError(f"reservoir version {version} does not exist (latest is {latest})")
        return version
    if as_of is None:
        return latest
    stamp = as_of if as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)
    millis = stamp.timestamp() * 1000
    earlier = [h["version"] for h in root.history(TABLE) if h["timestamp"] <= millis]
    if not earlier:
        raise NotFoundError(f"the reservoir did not exist yet at {stamp.isoformat()}")
    return int(max(earlier))


def snapshot(root: DataRoot, version: int | None = None, as_of: dt.datetime | None = None) -> tuple[int, pl.LazyFrame]:
    """The reservoir as it was at a version (or time): ``(version, lazy frame)``."""
    v = resolve_version(root, version, as_of)
    return v, root.scan(TABLE, version=v)


def log(root: DataRoot) -> list[dict[str, Any]]:
    """Every reservoir version, newest first: time, action, run, documents added and retracted."""
    entries = []
    for h in root.history(TABLE):
        metrics: dict[str, Any] = h.get("operationMetrics", {}) or {}
        action = h.get("action") or {"CREATE TABLE": "create", "VACUUM START": "vacuum", "VACUUM END": "vacuum"}.get(
            str(h["operation"]), str(h["operation"]).lower()
        )
        entries.append(
            {
                "version": h["version"],
                "time": dt.datetime.fromtimestamp(h["timestamp"] / 1000, dt.UTC).isoformat(),
                "action": action,
                "run_id": h.get("run_id"),
                "added": int(metrics.get("num_target_rows_inserted", 0))
                + (int(metrics.get("num_added_rows", 0)) if h["operation"] == "WRITE" else 0),
                "retracted": int(h.get("retracted", 0) or 0),
                "reason": h.get("reason"),
            }
        )
    return entries


def stats(root: DataRoot, version: int | None = None, as_of: dt.datetime | None = None) -> dict[str, Any]:
    """Size and make-up of the reservoir at a version: documents, characters, sources, languages,
    ``p_human`` and cluster summaries when those columns exist. Reads no text."""
    v, frame = snapshot(root, version, as_of)
    names = frame.collect_schema().names()
    wanted = [c for c in ("source", "lang", "n_chars", "retracted", "p_human", "cluster_id") if c in names]
    data = frame.select(wanted).collect()
    active = data.filter(ACTIVE)
    out: dict[str, Any] = {
        "version": v,
        "documents": active.height,
        "retracted": data.height - active.height,
        "characters": int(active["n_chars"].sum() or 0),
        "sources": _counts(active, "source"),
        "languages": _counts(active, "lang"),
    }
    if "p_human" in active.columns and active["p_human"].null_count() < active.height:
        p = active.select(
            pl.col("p_human").mean().alias("mean"),
            *(pl.col("p_human").quantile(q / 100).alias(f"p{q}") for q in (5, 50, 95)),
        )
        out["p_human"] = p.row(0, named=True)
    if "cluster_id" in active.columns:
        out["clusters"] = int(active["cluster_id"].drop_nulls().n_unique())
    return out


def diff(root: DataRoot, old: int, new: int) -> dict[str, Any]:
    """Documents added and retracted between two versions, in total and per source."""
    resolve_version(root, old)
    resolve_version(root, new)
    cols = ["doc_id", "source", "retracted"]
    before = root.scan(TABLE, version=old).select(cols).collect()
    after = root.scan(TABLE, version=new).select(cols).collect()
    added = after.join(before, on="doc_id", how="anti").filter(ACTIVE)
    was_active = before.filter(ACTIVE).select("doc_id")
    retracted = after.filter(~ACTIVE).join(was_active, on="doc_id", how="semi")
    removed = before.join(after, on="doc_id", how="anti")
    return {
        "from": old,
        "to": new,
        "added": added.height,
        "retracted": retracted.height,
        "removed": removed.height,
        "added_by_source": _counts(added, "source"),
        "retracted_by_source": _counts(retracted, "source"),
        "added_doc_ids": added["doc_id"].sort().to_list(),
        "retracted_doc_ids": retracted["doc_id"].sort().to_list(),
    }


def show(root: DataRoot, doc_id: str, version: int | None = None) -> dict[str, Any]:
    """One reservoir document (text included) at a version."""
    v, frame = snapshot(root, version)
    rows = frame.filter(pl.col("doc_id") == doc_id).collect()
    if rows.height == 0:
        raise NotFoundError(f"document {doc_id} is not in reservoir version {v}")
    row = rows.row(0, named=True)
    return {"version": v, **{k: (val.isoformat() if isinstance(val, dt.datetime) else val) for k, val in row.items()}}


def retract(
    root: DataRoot,
    reason: str,
    doc_ids: Sequence[str] = (),
    source: str | None = None,
    domain: str | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    """Mark documents retracted (by id, source or domain) as one reservoir version, and audit it."""
    if not reason.strip():
        raise WellspringError("a retraction needs a --reason (a takedown notice, a licence change, ...)")
    if not (doc_ids or source or domain):
        raise WellspringError("say what to retract: --doc-id, --file, --source or --domain")
    selector = pl.lit(False)
    if doc_ids:
        selector = selector | pl.col("doc_id").is_in(list(doc_ids))
    if source:
        selector = selector | (pl.col("source") == source)
    if domain:
        selector = selector | (pl.col("domain") == domain)
    _, frame = snapshot(root)
    targets = frame.filter(selector & ACTIVE).select("doc_id", "source", "domain").collect()
    unknown = sorted(
        set(doc_ids) - set(frame.filter(pl.col("doc_id").is_in(list(doc_ids))).select("doc_id").collect()["doc_id"])
    )
    now = dt.datetime.now(dt.UTC)
    who = by or getpass.getuser()
    result: dict[str, Any] = {"retracted": targets.height, "unknown_doc_ids": unknown, "reason": reason, "by": who}
    if targets.height == 0:
        result["version"] = root.ref(TABLE).version
        return result
    updates = targets.select("doc_id").with_columns(
        pl.lit(now).dt.replace_time_zone("UTC").alias("retracted_at"), pl.lit(reason).alias("retraction_reason")
    )
    ref = root.merge(
        TABLE,
        updates,
        "t.doc_id = s.doc_id",
        lambda m: m.when_matched_update(
            {"retracted": "true", "retracted_at": "s.retracted_at", "retraction_reason": "s.retraction_reason"}
        ),
        metadata={"action": "retract", "reason": reason, "by": who, "retracted": str(targets.height)},
    )
    audit = targets.with_columns(
        pl.lit("retract").alias("action"),
        pl.lit(reason).alias("reason"),
        pl.lit(who).alias("by"),
        pl.lit(now).dt.replace_time_zone("UTC").alias("at"),
        pl.lit(ref.version).cast(pl.Int64).alias("reservoir_version"),
    )
    root.append("retractions", audit, {"action": "retract"})
    result["version"] = ref.version
    return result


def pinned_versions(root: DataRoot) -> list[int]:
    """Reservoir versions that recorded builds were made from (they must stay readable)."""
    if not root.exists("builds"):
        return []
    return sorted(set(root.scan("builds").select("reservoir_version").collect()["reservoir_version"].to_list()))


def purge(root: DataRoot, force: bool = False, by: str | None = None) -> dict[str, Any]:
    """Physically remove the text of retracted documents: blank it in a new version, then vacuum
    every older file. Refused while a recorded build's pinned version still holds that text,
    unless ``force``; the audit records survive either way."""
    _, frame = snapshot(root)
    doomed = frame.filter(~ACTIVE & pl.col("text").is_not_null()).select("doc_id").collect()["doc_id"].to_list()
    pinned = pinned_versions(root)
    needing = [
        v
        for v in pinned
        if root.scan(TABLE, version=v)
        .filter(pl.col("doc_id").is_in(doomed) & pl.col("text").is_not_null())
        .select(pl.len())
        .collect()
        .item()
    ]
    if needing and not force:
        raise RetractionRefused(
            f"builds pinned to reservoir versions {needing} still contain text to purge; "
            "delete those builds or pass --force (they will no longer be reproducible)"
        )
    version = root.ref(TABLE).version
    if doomed:
        table = DeltaTable(root.uri(TABLE))
        table.update(
            updates={"text": "NULL", "meta": "NULL"},
            predicate="retracted = true AND text IS NOT NULL",
            commit_properties=commit_properties({"action": "purge", "purged": str(len(doomed))}),
        )
        version = table.version()
    keep = [v for v in pinned if v not in needing]
    removed = DeltaTable(root.uri(TABLE)).vacuum(
        retention_hours=0, enforce_retention_duration=False, dry_run=False, keep_versions=keep or None, full=True
    )
    if doomed:
        audit = pl.DataFrame({"doc_id": doomed}).with_columns(
            pl.lit("purge").alias("action"),
            pl.lit(by or getpass.getuser()).alias("by"),
            pl.lit(dt.datetime.now(dt.UTC)).dt.replace_time_zone("UTC").alias("at"),
            pl.lit(version).cast(pl.Int64).alias("reservoir_version"),
        )
        root.append("retractions", audit, {"action": "purge"})
    return {"purged": len(doomed), "files_removed": len(removed), "version": version, "forced_over_builds": needing}


def vacuum(root: DataRoot, keep_hours: int = 168) -> dict[str, Any]:
    """Retention: delete files no longer needed by the versions of the last ``keep_hours`` or by any
    version a recorded build pinned."""
    keep = pinned_versions(root)
    removed = DeltaTable(root.uri(TABLE)).vacuum(
        retention_hours=keep_hours, enforce_retention_duration=False, dry_run=False, keep_versions=keep or None
    )
    return {"files_removed": len(removed), "kept_versions": keep, "keep_hours": keep_hours}


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    if frame.height == 0:
        return {}
    counted = frame.group_by(column).len().sort(["len", column], descending=[True, False], nulls_last=True)
    return {str(k): int(n) for k, n in counted.iter_rows()}
