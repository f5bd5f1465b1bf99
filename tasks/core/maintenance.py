"""Delta log upkeep after a run: checkpoints, expired log entries, optionally compaction.

Every write is one Delta commit, so a nightly run adds a dozen JSON files to the tables' logs and many
small runs make opening a table replay thousands of them. :func:`maintain` keeps that bounded:

* **checkpoint** a table once ``checkpoint_every`` versions have passed since its last checkpoint
  (``DeltaTable.create_checkpoint``), so opening it reads one Parquet checkpoint and a few JSON files;
* **expire log entries** older than ``log_retention_hours`` and older than the newest checkpoint (Delta's
  own rule, as ``DeltaTable.cleanup_metadata`` applies it), except what a version a recorded build pinned
  needs: each pinned reservoir version first gets a checkpoint of its own, which is then kept, so it
  stays readable with ``version=`` for as long as ``reservoir vacuum`` keeps its data files;
  delta-rs's own expiry at its automatic checkpoints (every 100 commits) would ignore those pins, so
  the reservoir's ``delta.enableExpiredLogCleanup`` is turned off (one commit, once builds exist);
* **compact** (``compact=True``) the small files of each table into larger ones
  (``optimize.compact``); the files replaced stay on disk for older versions until a vacuum.

``cleanup_metadata`` itself cannot be told which versions to keep (it deletes by age below the newest
checkpoint), which is why the deletion is done here with the same rule plus the pinned exception.
Expired versions leave ``reservoir log`` and time travel, as with any Delta table's log retention.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deltalake import DeltaTable

from tasks.core import reservoir
from tasks.core.storage import DataRoot

DEFAULT_CHECKPOINT_EVERY = 10
DEFAULT_LOG_RETENTION_HOURS = 30 * 24  # Delta's default delta.logRetentionDuration
_LOG_FILE = re.compile(r"^(\d{20})\.(json|crc|checkpoint(\.\d+\.\d+)?\.parquet)$")


@dataclass
class TableMaintenance:
    """What :func:`maintain` did to one table."""

    table: str
    version: int
    checkpointed: bool = False
    pinned_checkpoints: list[int] = field(default_factory=list)
    protected: bool = False  # turned delta-rs's own log expiry off (see protect_pinned_versions)
    log_files_before: int = 0
    log_files_after: int = 0
    log_files_deleted: int = 0
    compaction: dict[str, Any] | None = None


def tables(root: DataRoot) -> list[str]:
    """The Delta tables in a local data root, by name."""
    return sorted(p.name for p in Path(root.home).iterdir() if (p / "_delta_log").is_dir())


def last_checkpoint(table_dir: Path) -> int | None:
    """The version of the newest checkpoint (from ``_last_checkpoint``, else the files), or None."""
    hint = table_dir / "_delta_log" / "_last_checkpoint"
    if hint.is_file():
        try:
            return int(json.loads(hint.read_text())["version"])
        except (ValueError, KeyError):
            pass  # a torn hint: fall back to listing the checkpoints
    found = checkpoint_versions(table_dir)
    return max(found) if found else None


def checkpoint_versions(table_dir: Path) -> set[int]:
    return {int(m.group(1)) for m in _log_files(table_dir) if m.group(2).startswith("checkpoint")}


def _log_files(table_dir: Path) -> list[re.Match[str]]:
    log = table_dir / "_delta_log"
    return [m for p in log.iterdir() if (m := _LOG_FILE.match(p.name))] if log.is_dir() else []


def log_file_count(table_dir: Path) -> int:
    """Files in a table's ``_delta_log`` (commits, checkpoints, checksums, hints)."""
    log = table_dir / "_delta_log"
    return sum(1 for p in log.iterdir() if p.is_file()) if log.is_dir() else 0


def expire_log_entries(table_dir: Path, keep_versions: set[int], older_than: float) -> int:
    """Delete log files of versions below the newest checkpoint that were written before
    ``older_than`` (a POSIX time), keeping each checkpoint in ``keep_versions``. Returns the count.

    Delta readers start from the newest checkpoint at or before the version they read, so nothing at
    or after the newest checkpoint is touched, and a kept checkpoint keeps its version readable."""
    newest = last_checkpoint(table_dir)
    if newest is None:
        return 0
    deleted = 0
    for match in _log_files(table_dir):
        version = int(match.group(1))
        if version >= newest or (version in keep_versions and match.group(2).startswith("checkpoint")):
            continue
        path = table_dir / "_delta_log" / match.group(0)
        if path.stat().st_mtime < older_than:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def _checkpoint_pinned(uri: str, table_dir: Path, pinned: list[int]) -> list[int]:
    """Give each pinned version that lacks one a checkpoint of its own (while its log is still whole)."""
    made = []
    have = checkpoint_versions(table_dir)
    for version in pinned:
        if version not in have:
            DeltaTable(uri, version=version).create_checkpoint()  # does not move _last_checkpoint
            made.append(version)
    return made


def protect_pinned_versions(uri: str) -> bool:
    """Turn off delta-rs's own expiry of log entries (``delta.enableExpiredLogCleanup``), which runs
    at its automatic checkpoints and knows nothing of pinned versions; :func:`maintain` expires them
    instead. One table-properties commit, once; returns whether it was needed."""
    table = DeltaTable(uri)
    if table.metadata().configuration.get("delta.enableExpiredLogCleanup") == "false":
        return False
    table.alter.set_table_properties({"delta.enableExpiredLogCleanup": "false"}, raise_if_not_exists=False)
    return True


def maintain(
    root: DataRoot,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    log_retention_hours: float = DEFAULT_LOG_RETENTION_HOURS,
    compact: bool = False,
    now: dt.datetime | None = None,
) -> list[TableMaintenance]:
    """Checkpoint, expire old log entries of, and optionally compact every table of a local data root.

    Safe to run after every nightly run (it does nothing until ``checkpoint_every`` versions have
    passed); it holds ``<home>/maintenance.lock`` so two runs of it do not overlap. Versions pinned
    by recorded builds stay readable (see the module docstring).
    """
    if checkpoint_every < 1:
        raise ValueError("checkpoint_every must be at least 1")
    if not root.is_local:
        return []  # object stores: delta-rs checkpoints every 100 commits and expires logs itself
    cutoff = (now or dt.datetime.now(dt.UTC)).timestamp() - log_retention_hours * 3600
    done = []
    with root.lock("maintenance"):
        pinned = reservoir.pinned_versions(root)
        for name in tables(root):
            table_dir, uri = Path(root.uri(name)), root.uri(name)
            table = DeltaTable(uri)
            result = TableMaintenance(name, table.version(), log_files_before=log_file_count(table_dir))
            if compact:
                result.compaction = table.optimize.compact()
                table = DeltaTable(uri)
                result.version = table.version()
            previous = last_checkpoint(table_dir)
            if result.version - (previous if previous is not None else 0) >= checkpoint_every:
                table.create_checkpoint()
                result.checkpointed = True
            keep = {v for v in pinned if v <= result.version} if name == reservoir.TABLE else set()
            if keep:
                result.protected = protect_pinned_versions(uri)
            result.pinned_checkpoints = _checkpoint_pinned(uri, table_dir, sorted(keep))
            result.log_files_deleted = expire_log_entries(table_dir, keep, cutoff)
            result.log_files_after = log_file_count(table_dir)
            done.append(result)
    return done


def open_seconds(root: DataRoot, table: str, repeat: int = 3) -> float:
    """The best of ``repeat`` times to open ``table`` at its latest version and list its files (what
    every scan pays before reading data)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        DeltaTable(root.uri(table)).file_uris()
        best = min(best, time.perf_counter() - started)
    return best


def report(results: list[TableMaintenance]) -> list[dict[str, Any]]:
    """The results as plain dicts (for a run summary or ``--json``)."""
    return [asdict(r) for r in results]
