"""``wellspring diversity``: diversity metrics and a report with plots for a reservoir version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import Home, Json, emit, expected_errors, use_home

app = typer.Typer(
    help="Diversity of the reservoir: metrics, clusters and plots.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _group() -> None:
    """Diversity of the reservoir: metrics, clusters and plots."""


@app.command()
@expected_errors
def report(
    version: Annotated[int | None, typer.Option("--version", help="reservoir version (default: latest)")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for the report (default: <home>/reports/diversity/v<V>)")
    ] = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Write diversity.md with PNG plots for a reservoir version, with the change since the version before."""
    from tasks.core.diversity import DiversityConfig
    from tasks.core.diversity.report import write_report
    from tasks.core.storage import DataRoot

    root = DataRoot.at(use_home(home))
    path, summary = write_report(root, version=version, out_dir=out, cfg=DiversityConfig())
    payload = {**summary.to_dict(), "report": str(path), "plots": [str(p) for p in sorted(path.parent.glob("*.png"))]}
    m = summary.metrics
    text = (
        f"reservoir v{summary.version}: {m.documents:,} documents, Vendi {m.vendi_score:.1f}, "
        f"distinct-2 {m.distinct_2:.3f}, cluster entropy {m.cluster_entropy or 0:.3f}\nreport: {path}"
    )
    emit(payload, as_json, text)
