"""The data root's disk fills up during a nightly run; after space is freed a re-run completes.

The data root lives on a small tmpfs mount (needs root and permission to mount, as in this
container); almost all of it is taken by a ballast file, so writes fail with a real ENOSPC. Where no
tmpfs can be mounted, ``RLIMIT_FSIZE`` with SIGXFSZ ignored makes the same writes fail with EFBIG.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.support import baseline, check_consistent, run_driver, small_inbox
from tests.test_cli import run as run_cli

# Free space left on each disk: none worth speaking of (the first data file fails), and enough for
# ingest but not for the whole run (a later stage fails).
FREE_BYTES = {"no-room": 16 * 1024, "fills-mid-run": 320 * 1024}
DISK_BYTES = 4 * 1024 * 1024


def _mount_tmpfs(where: Path) -> bool:
    where.mkdir(parents=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(where)], capture_output=True, check=False
    )
    return done.returncode == 0


def _fill(disk: Path, leave: int) -> Path:
    """A ballast file that leaves ``leave`` bytes free on ``disk``."""
    stats = os.statvfs(disk)
    ballast = disk / "ballast"
    with ballast.open("wb") as fh:
        fh.truncate(0)
        os.posix_fallocate(fh.fileno(), 0, stats.f_bavail * stats.f_frsize - leave)
    return ballast


@pytest.fixture(scope="module")
def disks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path | None]]:
    """One small filesystem per scenario (tmpfs), or ``None`` where mounting is not allowed."""
    tmp = tmp_path_factory.mktemp("disk-full")
    mounted: dict[str, Path | None] = {}
    for name in (*FREE_BYTES, "cli"):
        disk = tmp / name
        mounted[name] = disk if _mount_tmpfs(disk) else None
    try:
        yield mounted
    finally:
        for mount in mounted.values():
            if mount is not None:
                subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


@pytest.fixture(scope="module")
def scenarios(disks: dict[str, Path | None], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("disk-full-runs")
    inbox = small_inbox(tmp / "inbox")
    jobs: list[dict[str, Any]] = []
    spans: dict[str, slice] = {}
    for name, leave in FREE_BYTES.items():
        disk = disks[name]
        if disk is None:  # no tmpfs here: the same writes fail with EFBIG past `leave` bytes per file
            home = tmp / name / "home"
            fault: dict[str, Any] = {"efbig_bytes": leave}
            free: list[dict[str, Any]] = []
        else:
            home = disk / "home"
            fault = {}
            free = [{"action": "remove", "path": str(_fill(disk, leave))}]
        scenario = [
            {"action": "run", "home": str(home), "inbox": str(inbox), **fault},
            {"action": "inspect", "home": str(home)},
            *free,
            {"action": "rerun", "home": str(home), "inbox": str(inbox)},
        ]
        spans[name] = slice(len(jobs), len(jobs) + len(scenario))
        jobs += scenario
    results = run_driver(jobs, tmp / "driver")
    return {"expected": baseline(inbox, tmp / "baseline"), **{name: results[span] for name, span in spans.items()}}


@pytest.mark.parametrize("scenario", list(FREE_BYTES))
def test_disk_full_fails_cleanly_and_a_rerun_after_freeing_space_equals_no_fault_run(
    scenario: str, scenarios: dict[str, Any]
) -> None:
    failed, seen, *_, rerun = scenarios[scenario]
    assert failed["exit_code"] == 1 and not failed["ok"], failed  # an error, not a crash or a hang
    assert "No space left on device" in failed["error"] or "File too large" in failed["error"], failed["error"]
    # nothing half-committed: every table reads at its latest version, and the failed run is not
    # recorded as finished (the re-run finishes it)
    assert seen["readable"] == seen["tables"], f"a table no longer reads after the failed write: {seen}"
    assert seen["finished_runs"] == 0, seen
    assert rerun["exit_code"] == 0 and rerun["ok"], rerun.get("traceback", rerun)
    check_consistent(Path(rerun["job"]["home"]), scenarios["expected"])


def test_disk_full_on_the_cli_is_one_line_error(disks: dict[str, Path | None], tmp_path: Path) -> None:
    disk = disks["cli"]
    if disk is None:
        pytest.skip("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)")
    inbox = small_inbox(tmp_path / "inbox")
    _fill(disk, FREE_BYTES["no-room"])
    out = run_cli("ingest", str(inbox), "--home", str(disk / "home"), cwd=tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "space" in last, last
