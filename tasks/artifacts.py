"""Prefect artifacts: what a person opening a run in the UI reads."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from tasks.core.report import run_markdown


def publish_run_summary(summary: dict[str, object]) -> None:
    """A markdown summary and a table of drop reasons, under keys stable across runs."""
    create_markdown_artifact(
        key="nightly-summary", markdown=run_markdown(summary), description=f"Nightly run {summary['run_id']}"
    )
    dropped: dict[str, int] = summary.get("dropped", {})  # type: ignore[assignment]
    quarantined: dict[str, int] = summary.get("quarantine_reasons", {})  # type: ignore[assignment]
    rows = [{"outcome": "dropped", "reason": r, "records": n} for r, n in dropped.items()]
    rows += [{"outcome": "quarantined", "reason": r, "records": n} for r, n in quarantined.items()]
    if rows:
        create_table_artifact(key="nightly-drop-reasons", table=rows, description="Why records did not make it")


class StageProgress:
    """A progress artifact (``nightly-progress``) the UI shows filling up as the run's stages finish."""

    def __init__(self, stages: int, description: str) -> None:
        self._stages = stages
        self._done = 0
        created = create_progress_artifact(0.0, key="nightly-progress", description=description)
        self._id = cast(UUID, created)  # a UUID when called from sync code, as here

    def advance(self, stage: str) -> None:
        self._done += 1
        update_progress_artifact(self._id, 100.0 * self._done / self._stages, description=f"finished {stage}")
