"""``wellspring collapse-bench``: the collapse benchmark from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import Home, Json, emit, expected_errors, use_home
from tasks.core.errors import WellspringError


@expected_errors
def collapse_bench(
    generations: Annotated[
        int | None, typer.Option("--generations", help="generations after generation 0 (default 20; 3 with --quick)")
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="a small run on the shipped sample data (about a minute)")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="output folder (default: <home>/collapse/<run>)", show_default=False)
    ] = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Recursive training under replace / accumulate / fixed-real / wellspring data policies: curves, plots, report."""
    if out is not None and out.exists() and any(out.iterdir()):
        raise WellspringError(f"output folder {out} exists and is not empty; choose another --out")
    resolved = use_home(home)
    from flows.collapse import collapse_bench_flow  # imported late: Prefect reads PREFECT_HOME at import
    from tasks.core.collapse import headline

    result = collapse_bench_flow(generations=generations, quick=quick, out=str(out) if out else None, home=resolved)
    payload = {
        "policies": result["policies"],
        "headline": headline(result),
        "provenance_stage": result["provenance_stage"],
        "generations": result["generations"],
        "out_dir": result["out_dir"],
        "files": result["files"],
        "seconds": result["seconds"],
    }
    emit(payload, as_json, Path(result["files"]["report"]).read_text())
