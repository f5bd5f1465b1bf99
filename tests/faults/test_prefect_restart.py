"""The Prefect server restarts while a nightly run talks to it; a re-run then completes.

A real ``prefect server start`` on 127.0.0.1 (a private PREFECT_HOME, started with the helpers of
tests/ui/conftest.py), ``wellspring nightly`` in a subprocess against it, and, once the run has
ingested, the server stopped and started again on the same port and database. The interrupted run
may complete or fail; either way the next ``wellspring nightly`` completes and the reservoir equals
one clean run of the same inbox. Slow (two server start-ups), so it runs with the rest of the slow
reliability cases: ``WELLSPRING_RELIABILITY_FULL=1`` (``make reliability``).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.faults.support import QUICK_CONFIG, baseline, check_consistent, small_inbox
from tests.reliability.conftest import full_only
from tests.test_cli import WELLSPRING
from tests.ui.conftest import PREFECT, Server, _free_port, _spawn, _stop, _tail, _wait_until


def _spawn_server(server: Server, cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    port = server.url.rsplit(":", 1)[1]
    return _spawn(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port], env=server.env(), cwd=cwd, log=log
    )


def _wait_healthy(server: Server, proc: subprocess.Popen[bytes], log: Path) -> None:
    health = f"{server.api}/health"
    _wait_until("prefect server", lambda: httpx.get(health, timeout=2).status_code == 200, 180, proc, log)


def _nightly(server: Server, inbox: Path, home: Path, config: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [WELLSPRING, "nightly", "--inbox", str(inbox), "--home", str(home), "--config", str(config), "--json"],
        env=server.env(),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@full_only  # two server start-ups and two CLI runs: ~70 CPU seconds, minutes of wall time on a loaded box
def test_prefect_server_restart_mid_run_then_rerun_equals_no_fault_run(tmp_path: Path) -> None:
    if not Path(PREFECT).exists():
        pytest.skip(f"no prefect executable at {PREFECT}")
    server = Server(url=f"http://127.0.0.1:{_free_port()}", home=tmp_path / "prefect-home", log=tmp_path / "server.log")
    server.home.mkdir()
    seconds: dict[str, float] = {}
    t0 = time.monotonic()
    proc = _spawn_server(server, tmp_path, server.log)
    restarted: subprocess.Popen[bytes] | None = None
    try:
        # while the server starts: the inbox, the config, and the no-fault reservoir to compare with
        inbox = small_inbox(tmp_path / "inbox")
        config = tmp_path / "wellspring.yaml"
        config.write_text(yaml.safe_dump(QUICK_CONFIG))
        home = tmp_path / "home"
        expected = baseline(inbox, tmp_path / "baseline")
        _wait_healthy(server, proc, server.log)
        seconds["server_start"] = time.monotonic() - t0
        t = time.monotonic()
        run = _nightly(server, inbox, home, config, tmp_path)
        deadline = time.monotonic() + 300
        while run.poll() is None and not (home / "raw" / "_delta_log").is_dir() and time.monotonic() < deadline:
            time.sleep(0.01)  # the run has ingested: it is between tasks, reporting states to the server
        assert run.poll() is None, f"the run ended before the restart:\n{run.stderr.read() if run.stderr else ''}"
        seconds["until_ingested"] = time.monotonic() - t
        t = time.monotonic()
        _stop(proc)  # SIGTERM, as a service manager restarting it would
        restarted = _spawn_server(server, tmp_path, tmp_path / "server-2.log")  # same port, same database
        _wait_healthy(server, restarted, tmp_path / "server-2.log")
        seconds["server_restart"] = time.monotonic() - t
        _, interrupted_err = run.communicate(timeout=600)
        seconds["interrupted_run_total"] = time.monotonic() - t0 - seconds["server_start"]
        # either outcome is allowed; what matters is what the next run leaves behind
        print(f"interrupted run: exit {run.returncode}; {interrupted_err.strip().splitlines()[-1:]}")

        t = time.monotonic()
        again = _nightly(server, inbox, home, config, tmp_path)
        out, err = again.communicate(timeout=600)
        seconds["rerun"] = time.monotonic() - t
        print({k: round(v, 1) for k, v in seconds.items()})
        assert again.returncode == 0, err[-3000:] + _tail(tmp_path / "server-2.log")
        summary = json.loads(out)
        if run.returncode == 0:
            assert summary["ingested"] == 0, "the interrupted run completed: every file is already in the ledger"
    finally:
        for server_proc in (proc, restarted):
            if server_proc is not None:
                _stop(server_proc)
    check_consistent(home, expected)
