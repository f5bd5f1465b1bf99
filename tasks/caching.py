"""Result caching for the stage tasks: keyed on what the stage reads and on the version of the logic.

A stage of a nightly run (quality rules, dedup, scoring, ...) reads the run's records, decides, and commits
its decisions before it returns. Running it again for the same run, with the same configuration and the same
code, would write nothing new, so its result can come from the cache: a crashed run resumed by the next
nightly run, or a flow run retried from the UI, skips the stages it had finished.

The key is the stage's name, the run's identity (data root and ``run_id``: not the wall-clock fields of :class:`~tasks.runs.Run`,
which differ when a run is resumed), every other input (the stage's configuration), and :func:`logic_version`,
a hash of the source of ``tasks/core``: any change to the pipeline's logic invalidates every cached stage.
Results live in Prefect's local result storage (``$PREFECT_HOME/storage``; the CLI keeps ``PREFECT_HOME``
inside the data root). ``PREFECT_TASKS_REFRESH_CACHE=true`` recomputes everything once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import CachePolicy, Inputs
from prefect.context import TaskRunContext
from prefect.utilities.hashing import hash_objects

import tasks.core

CORE_DIR = Path(tasks.core.__file__).resolve().parent
# Long enough to resume last night's crashed run, short enough that the cache does not grow without bound.
CACHE_EXPIRATION = dt.timedelta(days=7)
_LOGIC_SUFFIXES = (".py", ".yaml", ".yml", ".json")


def logic_version(source_dir: Path = CORE_DIR) -> str:
    """sha256 over the relative paths and bytes of the logic files (``.py``, ``.yaml``, ...) under ``source_dir``."""
    files = sorted(p for p in source_dir.rglob("*") if p.suffix in _LOGIC_SUFFIXES and p.is_file())
    # Hashing ~100 small files per task run is cheap but not free; the stat signature detects any edit.
    signature = tuple((str(p.relative_to(source_dir)), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    return _hash_files(source_dir, signature)


@lru_cache(maxsize=8)
def _hash_files(source_dir: Path, signature: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for relative, _, _ in signature:
        digest.update(relative.encode())
        digest.update(b"\0")
        digest.update((source_dir / relative).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


# kw_only: CachePolicy's own first field is ``key_storage``, which a positional argument would silently set.
@dataclass(kw_only=True)
class LogicVersion(CachePolicy):
    """A cache-key component that changes whenever the source under ``source_dir`` changes."""

    source_dir: Path = CORE_DIR

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        return logic_version(self.source_dir)


@dataclass(kw_only=True)
class StageIdentity(CachePolicy):
    """Which stage of which run: the task's name and the ``run`` input reduced to its data root and ``run_id``."""

    argument: str = "run"

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        run = (inputs or {}).get(self.argument)
        if run is None:
            return None
        stage = task_ctx.task.name if task_ctx else None
        return hash_objects({"stage": stage, "home": run.home, "run_id": run.run_id}, raise_on_failure=True)


def stage_cache_policy(source_dir: Path = CORE_DIR) -> CachePolicy:
    """The policy of every stage task: stage and run identity, the other inputs, the logic version of ``source_dir``."""
    return StageIdentity() + Inputs(exclude=["run"]) + LogicVersion(source_dir=source_dir)


STAGE_CACHE = stage_cache_policy()


def stage_task(name: str, **options: Any) -> Any:
    """``@task`` for a stage of a nightly run: :data:`STAGE_CACHE` and its expiry, plus ``options``
    (retries, timeouts)."""
    return task(name=name, cache_policy=STAGE_CACHE, cache_expiration=CACHE_EXPIRATION, **options)
