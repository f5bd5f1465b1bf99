"""``wellspring build`` and ``wellspring builds ...``: dataset builds and their records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import Home, Json, emit, expected_errors, run_tags, use_home

builds_app = typer.Typer(help="Recorded dataset builds.", no_args_is_help=True)


@expected_errors
def build(
    name: Annotated[str, typer.Argument(help="name of the build (used in its id and default folder)")],
    size: Annotated[int, typer.Option("--size", help="documents in the build")],
    seed: Annotated[int, typer.Option("--seed")] = 0,
    min_human: Annotated[float, typer.Option("--min-human", help="minimum share of reservoir documents")] = 0.9,
    reservoir_version: Annotated[int | None, typer.Option("--reservoir-version", help="default: latest")] = None,
    synthetic: Annotated[Path | None, typer.Option("--synthetic", help="JSONL/Parquet of synthetic texts")] = None,
    max_synthetic: Annotated[float, typer.Option("--max-synthetic", help="cap on the synthetic share")] = 0.0,
    out: Annotated[Path | None, typer.Option("--out", help="output folder (default: <home>/datasets/NAME)")] = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Build a reproducible training set from a pinned reservoir version."""
    resolved = use_home(home)
    from flows.build import build_dataset_flow  # imported late: Prefect reads PREFECT_HOME at import
    from tasks.core.build.report import build_markdown

    folder = str(out) if out else None
    with run_tags("build", resolved):
        manifest = build_dataset_flow(
            name=name,
            size=size,
            seed=seed,
            min_human=min_human,
            reservoir_version=reservoir_version,
            home=resolved,
            out=folder,
            synthetic=str(synthetic) if synthetic else None,
            max_synthetic=max_synthetic,
        )
    from tasks.core.storage import DataRoot

    where = folder or str(DataRoot.at(resolved).path("datasets", name))
    payload = {
        "build_id": manifest["build_id"],
        "reservoir_version": manifest["reservoir_version"],
        "counts": manifest["counts"],
        "out_dir": where,
        "files": [s["file"] for s in manifest["shards"]] + ["manifest.json", "README.md", "croissant.json"],
    }
    emit(payload, as_json, build_markdown(manifest, where))


@builds_app.command("list")
@expected_errors
def list_(home: Home = None, as_json: Json = False) -> None:
    """Every recorded build, newest first."""
    from tasks.core.build.assemble import list_builds
    from tasks.core.storage import DataRoot

    found = list_builds(DataRoot.at(use_home(home)))
    lines = [f"{b['build_id']}  v{b['reservoir_version']}  {b['documents']} docs  {b['out_dir']}" for b in found] or [
        "no builds yet"
    ]
    emit({"builds": found}, as_json, "\n".join(lines))


@builds_app.command()
@expected_errors
def show(build_id: str, home: Home = None, as_json: Json = False) -> None:
    """A recorded build's manifest."""
    import json

    from tasks.core.build.assemble import show_build
    from tasks.core.storage import DataRoot

    found = show_build(DataRoot.at(use_home(home)), build_id)
    emit(found, as_json, json.dumps(found, indent=2))


@builds_app.command()
@expected_errors
def verify(folder: Path, as_json: Json = False) -> None:
    """Re-check a build folder's checksums and that its manifest matches its shards."""
    from tasks.core.build.outputs import verify as verify_folder

    found = verify_folder(folder)
    emit(found, as_json, f"{folder}: {found['documents']} documents in {found['shards']} shards match the manifest")
