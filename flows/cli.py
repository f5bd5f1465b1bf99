"""The ``wellspring`` command line: a thin layer over the flows and ``tasks.core``.

Every command takes ``--home`` (the data root) and ``--json`` (exactly one JSON object on stdout,
logs on stderr). Expected failures exit 1 with a one-line message, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_build import build, builds_app
from flows.cli_collapse import collapse_bench
from flows.cli_common import Home, Json, emit, expected_errors, run_tags, use_home
from flows.cli_dedup import dedup
from flows.cli_diversity import app as diversity_app
from flows.cli_provenance import app as provenance_app
from flows.cli_reservoir import app as reservoir_app
from flows.cli_serve import serve
from tasks.core.errors import WellspringError

app = typer.Typer(
    name="wellspring",
    help="Curate scraped text into a versioned reservoir of human-written data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(reservoir_app, name="reservoir")
app.add_typer(builds_app, name="builds")
app.add_typer(diversity_app, name="diversity")
app.add_typer(provenance_app, name="provenance")
app.command("build")(build)
app.command("dedup")(dedup)
app.command("serve")(serve)
app.command("collapse-bench")(collapse_bench)


@app.command()
@expected_errors
def nightly(
    inbox: Annotated[Path, typer.Option("--inbox", help="folder of new scraped files")],
    home: Home = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML config (see README)")] = None,
    dask_address: Annotated[
        str | None,
        typer.Option(
            "--dask-address",
            help="run the heavy stages on this Dask scheduler, e.g. tcp://host:8786 (default: $WELLSPRING_DASK_ADDRESS)",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="run the heavy stages on a local Dask cluster of N worker processes"),
    ] = None,
    as_json: Json = False,
) -> None:
    """Run the nightly curation flow on the new files in INBOX (on Dask with --dask-address or --workers)."""
    if not inbox.is_dir():
        raise WellspringError(f"inbox {inbox} is not a folder; pass --inbox DIR with the new files")
    resolved = use_home(home)
    from flows.nightly import nightly_flow  # imported late: Prefect reads PREFECT_HOME at import
    from tasks.core.report import run_markdown

    with run_tags("nightly", resolved):
        summary = nightly_flow(
            inbox=str(inbox),
            home=resolved,
            config=str(config) if config else None,
            dask_address=dask_address,
            workers=workers,
        )
    emit(summary, as_json, run_markdown(summary))
    if summary["ingested"] == 0 and summary["quarantined"]:
        typer.echo(f"error: nothing in {inbox} could be read; see the quarantine reasons above", err=True)
        raise typer.Exit(1)


@app.command()
@expected_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders to ingest")],
    home: Home = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML config (see README)")] = None,
    as_json: Json = False,
) -> None:
    """Ingest files into the raw and quarantine tables only (no cleaning, no reservoir commit)."""
    from tasks.core import pipeline
    from tasks.core.config import load_config
    from tasks.core.ledger import list_inputs
    from tasks.core.storage import DataRoot

    cfg = load_config(config)
    root = DataRoot.at(use_home(home))
    run_id = pipeline.new_run_id()
    files = list_inputs(paths)
    result = pipeline.ingest_stage(root, run_id, files, cfg.ingest)
    payload = {
        "run_id": run_id,
        "files": len(result.files),
        "skipped_seen_files": len(files) - len(result.files),
        "ingested": result.records,
        "quarantined": result.quarantined,
        "quarantine_reasons": result.quarantine_reasons,
        "versions": {r.name: r.version for r in (result.raw, result.quarantine, result.ledger)},
    }
    text = (
        f"run {run_id}: {result.records} records ingested, {result.quarantined} quarantined "
        f"from {len(result.files)} new files ({payload['skipped_seen_files']} already seen)"
    )
    emit(payload, as_json, text)
    if result.files and result.records == 0:
        typer.echo("error: nothing could be read; `wellspring explain` or the quarantine table says why", err=True)
        raise typer.Exit(1)


@app.command()
@expected_errors
def explain(
    doc_id: Annotated[str, typer.Argument(help="a doc_id or record_id")], home: Home = None, as_json: Json = False
) -> None:
    """Show every decision ever recorded about one document."""
    from tasks.core.explain import explain as explain_doc
    from tasks.core.storage import DataRoot

    found = explain_doc(DataRoot.at(use_home(home)), doc_id)
    lines = [f"document {found['doc_id']}: {'in the reservoir' if found['in_reservoir'] else 'not in the reservoir'}"]
    for r in found["records"]:  # type: ignore[attr-defined]
        lines.append(f"  record {r['record_id']} from {r['input']}#{r['position']} (run {r['run_id']})")
    for d in found["decisions"]:  # type: ignore[attr-defined]
        why = f" {d['reason']}" if d["reason"] else ""
        of = f" of {d['dup_of']}" if d["dup_of"] else ""
        lines.append(f"  {d['decided_at']} run {d['run_id']} {d['stage']}: {d['verdict']}{why}{of}")
    emit(found, as_json, "\n".join(lines))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
