"""Helpers shared by the benchmarks: measured subprocesses, the shared corpus, and result files.

Every contender runs in a fresh child process, so its peak RSS is its own (``os.wait4`` returns the
resource usage of exactly that child) and no import, cache or allocator state leaks between runs.
A child reports what it did as one JSON object on the last line of its stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
WORK = REPO / "benchmarks" / ".work"
VENVS = REPO / "benchmarks" / ".venvs"
MB = 1_000_000


class Skip(Exception):
    """A benchmark cannot run here (missing data or peer); the message says why and how to fix it."""


@dataclass
class Measured:
    """One child process: wall and CPU seconds (start-up included), peak RSS, exit code and its JSON report."""

    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    returncode: int
    report: dict[str, Any] = field(default_factory=dict)
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.report)

    def process(self) -> dict[str, Any]:
        """The process figures, for a results JSON."""
        return {
            "wall_seconds": self.wall_seconds,
            "cpu_seconds": self.cpu_seconds,
            "peak_rss_mb": self.peak_rss_mb,
            "returncode": self.returncode,
        }


def load_average() -> list[float]:
    """The 1/5/15-minute load average, recorded next to every timing (other jobs inflate wall time)."""
    return [round(x, 2) for x in os.getloadavg()]


def measure(
    cmd: Sequence[str], cpus: set[int] | None = None, env: dict[str, str] | None = None, timeout: float | None = None
) -> Measured:
    """Run ``cmd`` in a fresh process; return its wall time, peak RSS and the JSON on its last stdout line.

    ``cpus`` pins the process (and every thread it starts) to those CPUs, e.g. ``{0}`` for "one core";
    Polars, Arrow and deltalake size their thread pools from the affinity mask.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            stdout=out,
            stderr=err,
            cwd=REPO,
            env={**os.environ, **(env or {})},
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        deadline = None if timeout is None else started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG if deadline else 0)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = out.read().decode("utf-8", "replace").strip().splitlines()
        stderr_tail = err.read().decode("utf-8", "replace")[-2000:]
    report: dict[str, Any] = {}
    if lines:
        try:
            report = json.loads(lines[-1])
        except json.JSONDecodeError:
            stderr_tail = (stderr_tail + "\nstdout: " + "\n".join(lines[-5:]))[-2000:]
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    rss_bytes = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(wall, cpu, rss_bytes / 2**20, proc.returncode, report, stderr_tail)


def peak_rss_mb() -> float:
    """This process's peak RSS so far, in MiB (for a child to report where in its run the peak fell)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (peak if sys.platform == "darwin" else peak * 1024) / 2**20


def emit(report: dict[str, Any]) -> None:
    """A child's report: one JSON line on stdout (the parent reads the last line)."""
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()


def corpus_dir() -> Path:
    """``$WELLSPRING_CORPUS`` or ``../shared/corpus`` next to the repository; :class:`Skip` if absent."""
    path = Path(os.environ.get("WELLSPRING_CORPUS", REPO.parent / "shared" / "corpus"))
    if not (path / "human.parquet").is_file():
        raise Skip(f"shared corpus not found at {path}; set WELLSPRING_CORPUS to the folder holding human.parquet")
    return path


def write_results(name: str, data: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """Write ``benchmarks/results/<name>.json`` and ``<name>.md``; return both paths."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path, md_path = RESULTS / f"{name}.json", RESULTS / f"{name}.md"
    json_path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    md_path.write_text(markdown.rstrip() + "\n")
    return json_path, md_path


def machine() -> dict[str, Any]:
    """Where a result was measured, for the result files."""
    import platform

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


PEERS = REPO / "benchmarks" / "peers"


def peer_python(name: str, allow_setup: bool = True) -> tuple[Path | None, str | None]:
    """The interpreter of peer ``name``'s own venv (``benchmarks/.venvs/<name>``) and ``None``, or ``None``
    and why it is missing. ``benchmarks/peers/setup_<name>.sh`` runs first when allowed: it is idempotent and
    quick once the venv is complete, and brings an older venv up to the pinned packages."""
    python, setup = VENVS / name / "bin" / "python", PEERS / f"setup_{name}.sh"
    if allow_setup:
        done = subprocess.run(["bash", str(setup)], cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"{setup.name} failed: {done.stderr.strip()[-500:]}"
    if not python.is_file():
        return None, f"no {name} venv; run bash {setup.relative_to(REPO)}"
    return python, None
