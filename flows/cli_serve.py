"""``wellspring serve``: the nightly and dataset-build deployments served from this process."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

from flows.cli_common import Home, expected_errors, use_home
from tasks.core.errors import WellspringError

LOCAL_API_URL = "http://127.0.0.1:4200/api"  # the server `make ui` starts


def _require_server(api_url: str) -> None:
    """Schedules fire in a real server's scheduler; an ephemeral one would accept them and never run them."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=5):
            return
    except (urllib.error.URLError, OSError, ValueError):
        raise WellspringError(
            f"no Prefect server answers at {api_url}; start one with `make ui` in another terminal "
            "(or point PREFECT_API_URL at yours)"
        ) from None


@expected_errors
def serve(
    inbox: Annotated[Path, typer.Option("--inbox", help="folder the nightly run reads new scraped files from")],
    home: Home = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help="when the nightly run starts, cron in UTC (default: 0 2 * * *, 02:00)")
    ] = None,
) -> None:
    """Serve the nightly (scheduled) and build (on demand) deployments from this process until Ctrl-C.

    No work pool and no worker: the flow runs are subprocesses of this one.

    Needs a running Prefect server (PREFECT_API_URL, default the `make ui` one on 127.0.0.1:4200).
    """
    if not inbox.is_dir():
        raise WellspringError(f"inbox {inbox} is not a folder; pass --inbox DIR with the new files")
    resolved = use_home(home)
    api_url = os.environ.setdefault("PREFECT_API_URL", LOCAL_API_URL)
    _require_server(api_url)
    from flows.serve import NIGHTLY_CRON  # imported late: Prefect reads PREFECT_HOME and the API URL at import
    from flows.serve import serve as serve_deployments

    serve_deployments(home=resolved, inbox=str(inbox.resolve()), cron=cron or NIGHTLY_CRON)


if __name__ == "__main__":
    typer.run(serve)
