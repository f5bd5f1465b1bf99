"""What every ``wellspring`` sub-command shares: options, output and error handling."""

from __future__ import annotations

import errno
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
    from tasks.core.storage import DataRoot, resolve_home  # late: keeps deltalake out of every command's start-up

    resolved = resolve_home(home)
    if "PREFECT_API_URL" in os.environ or "PREFECT_HOME" in os.environ:
        return resolved
    root = DataRoot(resolved)
    if root.has_state_dir:  # a local root, or an object-storage root with its local state folder set
        prefect_home = root.state_dir() / "prefect"
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
    """Turn a :class:`WellspringError`, or storage running out of space, into ``error: <message>`` on stderr
    and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WellspringError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
        except Exception as e:
            if not out_of_space(e):
                raise
            typer.echo(f"error: the data root is out of space ({_first_line(e)}); {OUT_OF_SPACE_ADVICE}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


OUT_OF_SPACE_ADVICE = "free space and run again: the next run finishes this one, nothing half-written is kept"
_OUT_OF_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# deltalake reports the OS error inside its own exception's message ("... (os error 28)")
_OUT_OF_SPACE_TEXT = ("os error 28", "os error 122", "os error 27", "no space left on device", "file too large")


def out_of_space(error: BaseException) -> bool:
    """Whether ``error`` (or an error it was raised from) means the disk or quota is full."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _OUT_OF_SPACE_ERRNOS:
            return True
        if any(text in str(seen).lower() for text in _OUT_OF_SPACE_TEXT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def run_tags(kind: str, home: str) -> Any:
    """Prefect tags for a run started from the CLI: its kind and the data root's name, so the UI
    can filter runs by both."""
    from prefect import tags

    return tags(kind, f"home:{Path(home).name}")
