"""``wellspring reservoir ...``: history, size, changes, one document, takedowns, retention."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer

from flows.cli_common import Home, Json, emit, expected_errors, use_home
from tasks.core.errors import WellspringError

if TYPE_CHECKING:
    from tasks.core.storage import DataRoot

app = typer.Typer(help="The versioned reservoir of human data.", no_args_is_help=True)

Version = Annotated[int | None, typer.Option("--version", help="reservoir version (default: latest)")]


def _reservoir() -> ModuleType:
    from tasks.core import reservoir

    return reservoir


def _root(home: str | None) -> DataRoot:
    from tasks.core.storage import DataRoot  # late: keeps start-up of unrelated commands light

    return DataRoot.at(use_home(home))


@app.command("log")
@expected_errors
def log_(home: Home = None, as_json: Json = False) -> None:
    """Every reservoir version: time, action, run, documents added and retracted."""
    entries = _reservoir().log(_root(home))
    lines = [
        f"v{e['version']:<4} {e['time'][:19]}  {e['action']:<8} +{e['added']:<6} -{e['retracted']:<6} {e['run_id'] or e['reason'] or ''}"
        for e in entries
    ]
    emit({"versions": entries}, as_json, "\n".join(lines))


@app.command()
@expected_errors
def stats(
    version: Version = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO timestamp: the version current then")] = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Size, sources, languages and score summaries at a version or a point in time."""
    when = None
    if as_of is not None:
        try:
            when = dt.datetime.fromisoformat(as_of)
        except ValueError as e:
            raise WellspringError(f"--as-of {as_of!r} is not an ISO timestamp (e.g. 2026-11-28T02:00:00)") from e
    found = _reservoir().stats(_root(home), version, when)
    top = ", ".join(f"{s} {n}" for s, n in list(found["sources"].items())[:8])
    text = (
        f"reservoir v{found['version']}: {found['documents']} documents ({found['retracted']} retracted), "
        f"{found['characters']} characters\nsources: {top}\nlanguages: {found['languages']}"
    )
    emit(found, as_json, text)


@app.command()
@expected_errors
def diff(
    old: Annotated[int, typer.Argument(help="older version")],
    new: Annotated[int, typer.Argument(help="newer version")],
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Documents added and retracted between two versions, per source."""
    found = _reservoir().diff(_root(home), old, new)
    text = (
        f"v{old} -> v{new}: +{found['added']} added, -{found['retracted']} retracted\n"
        f"added by source: {found['added_by_source']}\nretracted by source: {found['retracted_by_source']}"
    )
    emit(found, as_json, text)


@app.command()
@expected_errors
def show(doc_id: str, version: Version = None, home: Home = None, as_json: Json = False) -> None:
    """One document as stored in the reservoir."""
    found = _reservoir().show(_root(home), doc_id, version)
    text = "\n".join(f"{k}: {v}" for k, v in found.items() if k != "text") + f"\n\n{found.get('text') or ''}"
    emit(found, as_json, text)


@app.command()
@expected_errors
def retract(
    reason: Annotated[str, typer.Option("--reason", help="why: takedown notice, licence change, machine text...")],
    doc_id: Annotated[list[str] | None, typer.Option("--doc-id", help="a doc_id (repeatable)")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="a file of doc_ids, one per line")] = None,
    source: Annotated[str | None, typer.Option("--source", help="every document of this source")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="every document of this web domain")] = None,
    by: Annotated[str | None, typer.Option("--by", help="who asks (default: the OS user)")] = None,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Retract documents: excluded from every later build; the audit trail records who, when, why."""
    ids = list(doc_id or [])
    if file is not None:
        if not file.is_file():
            raise WellspringError(f"--file {file} does not exist")
        ids += [line.strip() for line in file.read_text().splitlines() if line.strip()]
    found = _reservoir().retract(_root(home), reason, ids, source, domain, by)
    text = f"retracted {found['retracted']} documents (reservoir v{found['version']})"
    if found["unknown_doc_ids"]:
        text += f"; not in the reservoir: {', '.join(found['unknown_doc_ids'][:10])}"
    emit(found, as_json, text)


@app.command()
@expected_errors
def purge(
    force: Annotated[bool, typer.Option("--force", help="purge even text that pinned builds still need")] = False,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Physically remove the text of retracted documents (the audit records stay)."""
    found = _reservoir().purge(_root(home), force)
    emit(found, as_json, f"purged the text of {found['purged']} documents; {found['files_removed']} files removed")


@app.command()
@expected_errors
def vacuum(
    keep_hours: Annotated[int, typer.Option("--keep-hours", help="keep every version of this window")] = 168,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Retention: delete old files, keeping recent versions and every version a build pinned."""
    found = _reservoir().vacuum(_root(home), keep_hours)
    emit(
        found,
        as_json,
        f"removed {found['files_removed']} files; kept versions pinned by builds: {found['kept_versions']}",
    )
