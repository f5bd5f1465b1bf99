"""What every ``wellspring`` sub-command shares: options, output and error handling."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from tasks.core.errors import WellspringError

Home = Annotated[
    str | None,
    typer.Option("--home", help="data root (default: $WELLSPRING_HOME or ./.wellspring)", show_default=False),
]
Json = Annotated[bool, typer.Option("--json", help="print exactly one JSON object on stdout")]

F = TypeVar("F", bound=Callable[..., Any])


def use_home(home: str | None) -> str:
    """Resolve the data root and keep Prefect's local state inside it unless the user chose otherwise."""
    from tasks.core.storage import resolve_home  # late: keeps deltalake out of every command's start-up

    resolved = resolve_home(home)
    if "://" not in resolved and "PREFECT_API_URL" not in os.environ and "PREFECT_HOME" not in os.environ:
        prefect_home = Path(resolved) / "prefect"
        prefect_home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(prefect_home)
    return resolved


def emit(payload: dict[str, Any], as_json: bool, text: str) -> None:
    """Print ``payload`` as one JSON object (``--json``) or ``text`` for a person."""
    if as_json:
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
    else:
        typer.echo(text)


def expected_errors(fn: F) -> F:
    """Turn a :class:`WellspringError` into ``error: <message>`` on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WellspringError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def run_tags(kind: str, home: str) -> Any:
    """Prefect tags for a run started from the CLI: its kind and the data root's name, so the UI
    can filter runs by both."""
    from prefect import tags

    return tags(kind, f"home:{Path(home).name}")
