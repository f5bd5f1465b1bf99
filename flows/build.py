"""The on-demand dataset-build flow: a reproducible training set out of a pinned reservoir version."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.credentials import apply_storage_block
from tasks.build import assemble_build, publish_build_artifacts
from tasks.core.config import BuildConfig
from tasks.core.storage import DataRoot
from tasks.hooks import record_failure


@flow(name="build-dataset", flow_run_name="build-{name}", log_prints=True, on_failure=[record_failure])
def build_dataset_flow(
    name: str,
    size: int,
    seed: int = 0,
    min_human: float = 0.9,
    reservoir_version: int | None = None,
    home: str | None = None,
    out: str | None = None,
    synthetic: str | None = None,
    max_synthetic: float = 0.0,
    storage_block: str | None = None,
) -> dict[str, Any]:
    """Sample ``size`` documents from the reservoir (at ``reservoir_version``, default latest) into
    ``out`` (default ``<home>/datasets/<name>``) with the anti-collapse rules of ``BuildConfig``.
    ``storage_block`` names a Prefect ``Secret`` block of object-storage settings (:mod:`flows.credentials`)."""
    apply_storage_block(storage_block)
    cfg = BuildConfig(
        size=size, seed=seed, min_human=min_human, reservoir_version=reservoir_version, max_synthetic=max_synthetic
    )
    folder = out or str(DataRoot.at(home).path("datasets", name))
    manifest = assemble_build(home, name, cfg, folder, synthetic)
    publish_build_artifacts(manifest, folder)
    return manifest
