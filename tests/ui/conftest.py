"""A real Prefect server, the ``nightly`` deployment from ``prefect.yaml`` and one completed run of it.

Everything runs as a user would run it, in subprocesses: ``prefect server start`` on a free port with a
private PREFECT_HOME, ``prefect deploy --all`` from a copy of the repository in a temporary folder, a
process worker started in that copy, and a run triggered through the REST API with the sample inbox. The
tests talk to the server over plain HTTP, so the in-process Prefect settings (and the test harness that
``tests/flows`` starts) play no part.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

# As in tests/flows: a private Prefect home before Prefect is first imported in this session.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="wellspring-prefect-"))

from prefect.workers.process import ProcessWorker

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")
POOL = "wellspring"
DEPLOYMENT = "nightly-curation/nightly"
BUILD_DEPLOYMENT = "build-dataset/build"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
_SKIPPED_DIRS = {".git", ".venv", ".wellspring", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"}


@dataclass(frozen=True)
class Server:
    url: str  # the UI, e.g. http://127.0.0.1:54321
    home: Path  # its PREFECT_HOME
    log: Path

    @property
    def api(self) -> str:
        return f"{self.url}/api"

    def env(self) -> dict[str, str]:
        """The environment of every Prefect subprocess: this server, offline, quiet, nothing installed."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW="ignore",
            PREFECT_RUNNER_AUTO_INSTALL_DEPENDENCIES="false",
            PREFECT_WORKER_QUERY_SECONDS="1",
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        return env


@dataclass(frozen=True)
class NightlyRun:
    """The deployed ``nightly`` deployment and its completed run."""

    server: Server
    clone: Path
    deployment: dict[str, Any]
    build_deployment: dict[str, Any]  # deployed by the same `prefect deploy --all`, not run here
    flow_run: dict[str, Any]
    artifacts: dict[str, dict[str, Any]]  # by key
    run_id: str  # Wellspring's run id, from the data root's `runs` table
    home: Path
    seconds: dict[str, float]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stop(proc: subprocess.Popen[bytes], terms: int = 1) -> None:
    """SIGTERM the process group (a process worker needs two), then SIGKILL what is left."""
    for _ in range(terms):
        if proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def _spawn(args: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _copy_repository(dest: Path) -> Path:
    """What a fresh clone would hold once the working tree is committed: tracked and new, not ignored, files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True
    )
    if listed.returncode == 0:
        for name in listed.stdout.decode().split("\0"):
            src = REPO / name
            if name and src.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
    else:  # not a git checkout (or no git): copy the tree without environments and caches
        shutil.copytree(REPO, dest, ignore=lambda _, names: [n for n in names if n in _SKIPPED_DIRS])
    return dest


def _wait_until(what: str, ready: Any, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what}: the process exited with {proc.returncode}\n{_tail(log)}")
        try:
            if value := ready():
                return value
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what}: not ready after {timeout:.0f} s\n{_tail(log)}")


def _api(method: str, url: str, **kwargs: Any) -> Any:
    """One REST call, retried like Prefect's own client does on 503 (the server's answer to a busy SQLite).

    A 503 here means the database was locked for a moment while the worker and ``prefect deploy`` wrote to
    it; it is not the behaviour under test, and the CLI a user types retries it too.
    """
    for attempt in range(6):
        response = httpx.request(method, url, timeout=10, **kwargs)
        if response.status_code != 503:
            break
        time.sleep(0.5 * 2**attempt)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="session")
def nightly_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NightlyRun]:
    """Server, work pool, ``prefect deploy --all``, a triggered run, a worker; yields once the run has ended.

    The server keeps running until the session ends (the browser tests read it); the worker stops as soon
    as the run has ended.
    """
    if not Path(PREFECT).exists():
        pytest.skip(f"no prefect executable next to {sys.executable}")
    tmp = tmp_path_factory.mktemp("nightly-deployment")
    seconds: dict[str, float] = {}
    t0 = time.monotonic()

    server = Server(url=f"http://127.0.0.1:{_free_port()}", home=tmp / "prefect-home", log=tmp / "server.log")
    server.home.mkdir()
    port = server.url.rsplit(":", 1)[1]
    env = server.env()
    server_proc = _spawn(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port], env=env, cwd=tmp, log=server.log
    )
    worker_proc: subprocess.Popen[bytes] | None = None
    try:
        # While the server starts: a clone, and the inbox and data root the run will use.
        clone = _copy_repository(tmp / "clone")
        inbox = tmp / "inbox"  # a few real files of mixed formats, good and bad: enough for every artifact
        inbox.mkdir()
        for name in ("docs-a.jsonl", "docs-c.csv", "bad-lines.jsonl", "truncated.jsonl.gz"):
            shutil.copy(REPO / "sample_data" / "inbox" / name, inbox / name)
        home = tmp / "home"
        health = f"{server.api}/health"
        _wait_until(
            "prefect server", lambda: httpx.get(health, timeout=2).status_code == 200, 150, server_proc, server.log
        )
        seconds["server_start"] = time.monotonic() - t0

        # The process pool as `prefect work-pool create wellspring --type process` makes it (`make deploy`), then
        # the worker (in the clone: the directory the deployment's relative paths refer to) starts while
        # `prefect deploy --all` registers the deployment.
        template = ProcessWorker.get_default_base_job_template()
        pool = {"name": POOL, "type": "process", "base_job_template": template}
        _api("POST", f"{server.api}/work_pools/", json=pool)
        worker_log = tmp / "worker.log"
        worker_proc = _spawn([PREFECT, "worker", "start", "--pool", POOL], env=env, cwd=clone, log=worker_log)
        t = time.monotonic()
        deploy = subprocess.run(
            [PREFECT, "--no-prompt", "deploy", "--all"], env=env, cwd=clone, capture_output=True, text=True, timeout=180
        )
        seconds["deploy"] = time.monotonic() - t
        assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
        assert "Skipping" not in deploy.stdout + deploy.stderr, deploy.stdout  # prefect.yaml must parse
        deployment = _api("GET", f"{server.api}/deployments/name/{DEPLOYMENT}")
        build_deployment = _api("GET", f"{server.api}/deployments/name/{BUILD_DEPLOYMENT}")

        t = time.monotonic()
        parameters = {"inbox": str(inbox), "home": str(home)}
        created = _api(
            "POST", f"{server.api}/deployments/{deployment['id']}/create_flow_run", json={"parameters": parameters}
        )
        flow_run_id = created["id"]
        run_url = f"{server.api}/flow_runs/{flow_run_id}"

        def ended() -> dict[str, Any] | None:
            run: dict[str, Any] = _api("GET", run_url)
            return run if run["state_type"] in TERMINAL else None

        flow_run = _wait_until("the nightly flow run", ended, 300, worker_proc, worker_log)
        seconds["flow_run"] = time.monotonic() - t
        _stop(worker_proc, terms=2)
        assert flow_run["state_type"] == "COMPLETED", f"{flow_run['state_name']}\n{_tail(worker_log)}"

        found = _api(
            "POST", f"{server.api}/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}
        )
        artifacts = {a["key"]: a for a in found if a["key"]}
        runs = pl.read_delta(str(home / "runs")).filter(pl.col("flow_run_id") == flow_run_id)
        assert runs.height == 1, f"the runs table does not record flow run {flow_run_id}: {runs}"
        seconds["total"] = time.monotonic() - t0
        yield NightlyRun(
            server=server,
            clone=clone,
            deployment=deployment,
            build_deployment=build_deployment,
            flow_run=flow_run,
            artifacts=artifacts,
            run_id=runs["run_id"].item(),
            home=home,
            seconds=seconds,
        )
    finally:
        if worker_proc is not None:
            _stop(worker_proc, terms=2)
        _stop(server_proc)
