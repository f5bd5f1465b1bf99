"""Sharded inputs: an inbox of many files split into shards of bounded total size.

A shard is the unit of parallel work (one mapped task ingests and cleans one shard) and of
recovery: each shard commits its own ``raw``, ``quarantine`` and ``ledger`` rows, so a crash loses
at most the shards in flight. The plan of a run (which files form which shard) is stored in the
``shards`` table before any shard runs; a run that crashed is finished by ingesting the planned
shards the ledger does not list yet, under the same run id, which gives the same reservoir as a
run that never crashed. A shard that still fails after its retries is quarantined (one row per
file, reason ``shard_failed``) and listed in the ledger, so the other shards are not held back and
the file is not re-read every night; the quarantine row says why.

A file is never split, so a file larger than the bound is a shard of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from tasks.core import decisions, schema
from tasks.core.config import IngestConfig
from tasks.core.ingest import IngestResult
from tasks.core.ledger import InputFile, new_inputs
from tasks.core.pipeline import ingest_stage
from tasks.core.storage import DataRoot, TableRef

MiB = 1024 * 1024
DEFAULT_SHARD_BYTES = 256 * MiB
SHARD_FAILED = "shard_failed"
PLAN_TABLE = "shards"

_PLAN_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "shard": pl.Int64(),
    "input": pl.String(),
    "input_sha256": pl.String(),
    "size_bytes": pl.Int64(),
    "planned_at": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class Shard:
    """Input files processed together; ``index`` orders the shards of a run."""

    index: int
    files: tuple[InputFile, ...]

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def inputs(self) -> list[str]:
        """The ``input`` values its records carry in ``raw`` (the file paths)."""
        return [f.name for f in self.files]


def plan_shards(files: Sequence[InputFile], max_bytes: int = DEFAULT_SHARD_BYTES) -> list[Shard]:
    """Consecutive groups of ``files`` (in the given, stable order) of at most ``max_bytes`` each;
    a file larger than ``max_bytes`` is a shard on its own."""
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    shards: list[Shard] = []
    current: list[InputFile] = []
    size = 0
    for f in files:
        if current and size + f.size > max_bytes:
            shards.append(Shard(len(shards), tuple(current)))
            current, size = [], 0
        current.append(f)
        size += f.size
    if current:
        shards.append(Shard(len(shards), tuple(current)))
    return shards


def record_plan(root: DataRoot, run_id: str, shards: Sequence[Shard]) -> TableRef | None:
    """Store the run's shards (one row per file) so a crashed run can be finished as planned."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "run_id": run_id,
            "shard": s.index,
            "input": f.name,
            "input_sha256": f.sha256,
            "size_bytes": f.size,
            "planned_at": now,
        }
        for s in shards
        for f in s.files
    ]
    if not rows:
        return None
    return root.append(PLAN_TABLE, pl.DataFrame(rows, schema=_PLAN_SCHEMA), {"run_id": run_id, "stage": "plan"})


def planned_shards(root: DataRoot, run_id: str) -> list[Shard]:
    """The shards :func:`record_plan` stored for ``run_id`` (``[]`` for a run planned by an older version)."""
    if not root.exists(PLAN_TABLE):
        return []
    rows = root.scan(PLAN_TABLE).filter(pl.col("run_id") == run_id).sort("shard", "input").collect()
    by_shard: dict[int, list[InputFile]] = {}
    for row in rows.iter_rows(named=True):
        by_shard.setdefault(row["shard"], []).append(
            InputFile(Path(row["input"]), row["input_sha256"], row["size_bytes"])
        )
    return [Shard(i, tuple(files)) for i, files in sorted(by_shard.items())]


def pending_shards(root: DataRoot, shards: Sequence[Shard]) -> list[Shard]:
    """The shards with at least one file the ledger does not list yet (work left after a crash)."""
    new = {f.sha256 for f in new_inputs(root, [f for s in shards for f in s.files])}
    return [s for s in shards if any(f.sha256 in new for f in s.files)]


def work_shards(root: DataRoot, run_id: str, max_bytes: int = DEFAULT_SHARD_BYTES) -> list[Shard]:
    """The shards of the records a run ingested: its plan when stored, else its ledger rows
    re-planned (runs ingested in one piece). The later per-shard stages map over these."""
    planned = planned_shards(root, run_id)
    if planned:
        return planned
    if not root.exists("ledger"):
        return []
    rows = decisions.run_rows(root, "ledger", run_id).select("input", "input_sha256", "size_bytes").collect()
    files = [InputFile(Path(r[0]), r[1], int(r[2] or 0)) for r in rows.sort("input").iter_rows()]
    return plan_shards(files, max_bytes)


def shard_rows(root: DataRoot, run_id: str, shard: Shard) -> pl.LazyFrame:
    """The run's ``raw`` rows that came from ``shard``'s files."""
    return decisions.run_rows(root, "raw", run_id).filter(pl.col("input").is_in(shard.inputs))


def ingest_shard(root: DataRoot, run_id: str, shard: Shard, cfg: IngestConfig) -> IngestResult:
    """Ingest one shard's files (one ``raw`` commit); safe to retry, also after a crash between its
    ``raw`` and ``ledger`` commits (the ledger rows of files already in ``raw`` are written then)."""
    result = ingest_stage(root, run_id, list(shard.files), cfg)
    _complete_ledger(root, run_id, shard)
    return result


def _complete_ledger(root: DataRoot, run_id: str, shard: Shard) -> None:
    """Ledger rows for the shard's files this run wrote to ``raw`` but not to the ledger (a task
    killed between the two commits), counted from the stored rows."""
    missing = new_inputs(root, list(shard.files))
    if not missing:
        return
    names = [f.name for f in missing]
    records = dict(
        shard_rows(root, run_id, shard)
        .filter(pl.col("input").is_in(names))
        .group_by("input")
        .len()
        .collect()
        .iter_rows()
    )
    if not records:
        return
    rejected = dict(
        decisions.run_rows(root, "quarantine", run_id)
        .filter(pl.col("input").is_in(names))
        .group_by("input")
        .len()
        .collect()
        .iter_rows()
    )
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "input_sha256": f.sha256,
            "input": f.name,
            "format": None,
            "size_bytes": f.size,
            "records": records[f.name],
            "quarantined": rejected.get(f.name, 0),
            "run_id": run_id,
            "ingested_at": now,
        }
        for f in missing
        if f.name in records
    ]
    metadata = {"run_id": run_id, "stage": "ingest", "shard": str(shard.index)}
    root.append("ledger", pa.Table.from_pylist(rows, schema.arrow_schema("ledger")), metadata)


def quarantine_shard(root: DataRoot, run_id: str, shard: Shard, error: str) -> TableRef:
    """Set aside a shard that kept failing: a ``shard_failed`` quarantine row per file not yet in the
    ledger (with the error), and a ledger row for it so later runs do not read it again."""
    in_raw = set(shard_rows(root, run_id, shard).select("input").unique().collect().to_series().to_list())
    files = [f for f in new_inputs(root, list(shard.files)) if f.name not in in_raw]
    if not files:
        return root.ref("quarantine")
    now = dt.datetime.now(dt.UTC)
    message = f"shard {shard.index} failed after its retries: {error}"[:4000]
    quarantine = [
        {
            "run_id": run_id,
            "input": f.name,
            "input_sha256": f.sha256,
            "position": 0,
            "reason": SHARD_FAILED,
            "message": f"{f.name}: {message}",
            "original": b"",
            "original_bytes": 0,
            "quarantined_at": now,
        }
        for f in files
    ]
    metadata = {"run_id": run_id, "stage": "ingest", "shard": str(shard.index)}
    ref = root.append("quarantine", pa.Table.from_pylist(quarantine, schema.arrow_schema("quarantine")), metadata)
    ledger = [
        {
            "input_sha256": f.sha256,
            "input": f.name,
            "format": None,
            "size_bytes": f.size,
            "records": 0,
            "quarantined": 1,
            "run_id": run_id,
            "ingested_at": now,
        }
        for f in files
    ]
    root.append("ledger", pa.Table.from_pylist(ledger, schema.arrow_schema("ledger")), metadata)
    return ref
