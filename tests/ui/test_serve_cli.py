"""``wellspring serve`` refuses what it cannot serve with one line and exit code 1, before touching Prefect."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def serve(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "flows.cli_serve", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_missing_inbox_and_missing_server_are_one_line_errors(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"

    no_inbox = serve("--inbox", str(tmp_path / "missing"), "--home", str(tmp_path / "home"), env=env)
    assert no_inbox.returncode == 1
    assert no_inbox.stderr.strip().splitlines() == [
        f"error: inbox {tmp_path / 'missing'} is not a folder; pass --inbox DIR with the new files"
    ]

    no_server = serve("--inbox", str(tmp_path), "--home", str(tmp_path / "home"), env=env)
    assert no_server.returncode == 1
    [line] = no_server.stderr.strip().splitlines()
    assert line.startswith(f"error: no Prefect server answers at http://127.0.0.1:{port}/api")
