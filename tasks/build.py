"""The dataset-build task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from tasks.core.build.assemble import build_dataset
from tasks.core.build.report import build_markdown
from tasks.core.config import BuildConfig
from tasks.core.storage import DataRoot


@task(name="assemble-build", retries=1, retry_delay_seconds=5)
def assemble_build(home: str | None, name: str, cfg: BuildConfig, out: str, synthetic: str | None) -> dict[str, Any]:
    """Draw the build from the pinned reservoir version and write its folder (all or nothing)."""
    return build_dataset(DataRoot.at(home), name, cfg, Path(out), Path(synthetic) if synthetic else None)


@task(name="publish-build-artifacts")
def publish_build_artifacts(manifest: dict[str, Any], out: str) -> None:
    """The build's composition and diversity in the Prefect UI, and a link to its folder."""
    create_markdown_artifact(key="build-summary", markdown=build_markdown(manifest, out), description=manifest["name"])
    by_source = [{"source": s, "documents": n} for s, n in manifest["counts"]["by_source"].items()]
    create_table_artifact(key="build-sources", table=by_source, description="Documents per source")
    create_link_artifact(key="build-folder", link=Path(out).resolve().as_uri(), link_text=out)
