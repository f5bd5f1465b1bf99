"""Test driver for fault injection: nightly runs stage by stage, each job in its own child process.

``python -m tests.faults.driver JOBS.json OUT.json`` imports the core library once, then runs every
job of ``JOBS.json`` (a list) in a fresh ``fork`` of itself, one after the other, and writes one
outcome per job to ``OUT.json``. Forking keeps the many jobs of the fault tests cheap: the 10 s of
imports are paid once, and every job still is a real process that can be killed with SIGKILL. The
parent never touches Polars or Delta (their thread pools start in the children only).

A job is ``{"action": "run" | "rerun", "home": DIR, "inbox": DIR, ...}`` with at most one fault
(or ``{"action": "inspect", "home": DIR}``: what a reader sees; ``{"action": "remove", "path": F}``):

* ``"kill_after": STAGE``: the process SIGKILLs itself right after ``STAGE`` returned, before the
  next stage starts (a crash at that stage boundary);
* ``"fsize_during": STAGE, "fsize_bytes": N``: ``RLIMIT_FSIZE`` is lowered to ``N`` bytes just before
  ``STAGE``, with SIGXFSZ at its default action, so the kernel terminates the process at the first
  write past byte ``N`` of any file (a data file being written: a crash in the middle of a table
  write, at a deterministic byte rather than a lucky moment);
* ``"efbig_bytes": N``: ``RLIMIT_FSIZE`` is ``N`` from the start with SIGXFSZ ignored, so writes past
  it fail with a real ``EFBIG`` OS error (the disk-full stand-in where no tmpfs can be mounted).

``run`` is one nightly run (the stages of :func:`tasks.core.pipeline.curate_inbox`, in its order);
``rerun`` is what the nightly flow does (``flows/nightly.py``): under the data root's ``nightly``
lock, finish every run that crashed after ingesting, then run the inbox. The stages are the core
functions the flow's tasks wrap; this module only decides where the process dies.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import signal
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tasks.core import pipeline
from tasks.core.config import NightlyConfig
from tasks.core.ledger import list_inputs
from tasks.core.storage import DataRoot

Stage = Callable[[DataRoot, str, NightlyConfig, Path], object]

# The stages of one nightly run, in the order of pipeline.curate_inbox and flows.nightly.curate.
STAGES: dict[str, Stage] = {
    "ingest": lambda root, run_id, cfg, inbox: pipeline.ingest_stage(root, run_id, list_inputs([inbox]), cfg.ingest),
    "quality": lambda root, run_id, cfg, _: pipeline.quality_stage(root, run_id, cfg.quality),
    "pii": lambda root, run_id, cfg, _: pipeline.pii_stage(root, run_id, cfg.pii),
    "exact_dedup": lambda root, run_id, cfg, _: pipeline.exact_dedup_stage(root, run_id),
    "near_dedup": lambda root, run_id, cfg, _: pipeline.near_dedup_stage(root, run_id, cfg.minhash),
    "provenance": lambda root, run_id, cfg, _: pipeline.provenance_stage(root, run_id, cfg.provenance),
    "diversity": lambda root, run_id, cfg, _: pipeline.diversity_stage(root, run_id, cfg.diversity),
    "admission": lambda root, run_id, cfg, _: pipeline.admission_stage(root, run_id, cfg.admission),
    "commit": lambda root, run_id, cfg, _: pipeline.commit_stage(root, run_id, pii=cfg.pii),
    "record_run": lambda root, run_id, cfg, inbox: pipeline.record_run(
        root, run_id, dt.datetime.now(dt.UTC), str(inbox), cfg, pipeline.run_summary(root, run_id)
    ),
}
# A stage boundary is "after STAGE": the last one (after record_run) is a finished run, not a crash.
BOUNDARIES = tuple(STAGES)[:-1]


def _run_stages(root: DataRoot, run_id: str, inbox: Path, cfg: NightlyConfig, job: dict[str, Any], first: int) -> None:
    for name in tuple(STAGES)[first:]:
        if job.get("fsize_during") == name:
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python starts with it ignored
            resource.setrlimit(resource.RLIMIT_FSIZE, (job["fsize_bytes"], resource.RLIM_INFINITY))
        STAGES[name](root, run_id, cfg, inbox)
        if job.get("kill_after") == name:
            os.kill(os.getpid(), signal.SIGKILL)


def inspect(home: Path) -> dict[str, Any]:
    """What a reader of the data root sees after a crash: which tables read at their latest version,
    and which files no commit references (relative to ``home``: partial data files, staged models)."""
    from tests.faults.support import TABLES, uncommitted_files  # late: support imports this module's users

    root = DataRoot.at(home)
    tables = [t for t in TABLES if (home / t).is_dir()]
    readable = []
    for table in tables:
        try:
            if root.exists(table):
                root.scan(table).collect()
            readable.append(table)
        except Exception:  # reported, not raised: the test says which table broke
            pass
    partial = [str(p.relative_to(home)) for t in tables for p in uncommitted_files(home / t)]
    models = home / "models"
    if models.is_dir():
        partial += [str(p.relative_to(home)) for p in models.rglob("*") if p.is_file() and ".staging-" in str(p)]
    finished = root.scan("runs").select("run_id").collect().height if "runs" in readable else 0
    return {"tables": tables, "readable": readable, "partial_files": sorted(partial), "finished_runs": finished}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One job, in the current process (the child): returns what it did."""
    if job["action"] == "inspect":
        return inspect(Path(job["home"]))
    if job["action"] == "remove":  # e.g. free the space a ballast file took
        Path(job["path"]).unlink()
        return {}
    cfg = NightlyConfig.model_validate(job.get("config", {}))
    root = DataRoot.at(job["home"])
    inbox = Path(job["inbox"])
    finished: list[str] = []
    if job["action"] == "rerun":
        with root.lock("nightly"):
            for crashed in pipeline.unfinished_runs(root):
                _run_stages(root, crashed, inbox, cfg, job, first=1)  # ingest is what made it a run
                finished.append(crashed)
            run_id = pipeline.new_run_id()
            _run_stages(root, run_id, inbox, cfg, job, first=0)
    else:
        run_id = pipeline.new_run_id()
        _run_stages(root, run_id, inbox, cfg, job, first=0)
    return {"run_id": run_id, "finished_crashed_runs": finished}


def _child(job: dict[str, Any], report: Path) -> int:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXFSZ would otherwise dump core
    if "efbig_bytes" in job:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (job["efbig_bytes"], resource.RLIM_INFINITY))
    try:
        outcome: dict[str, Any] = {"ok": True, **run_job(job)}
        code = 0
    except Exception as e:  # the job failed cleanly: record why, as the CLI would show it
        outcome = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-4000:]}
        code = 1
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    report.write_text(json.dumps(outcome))
    return code


def run_jobs(jobs: list[dict[str, Any]], work: Path) -> list[dict[str, Any]]:
    """Every job in a fork of this process, in order; the exit code or signal of each, and its report."""
    results = []
    for i, job in enumerate(jobs):
        report = work / f"job-{i}.json"
        report.unlink(missing_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child never returns into the parent's code
            code = 1
            try:
                code = _child(job, report)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        signalled = os.WIFSIGNALED(status)
        results.append(
            {
                "job": job,
                "signal": signal.Signals(os.WTERMSIG(status)).name if signalled else None,
                "exit_code": None if signalled else os.WEXITSTATUS(status),
                **(json.loads(report.read_text()) if report.exists() else {}),
            }
        )
    return results


def main(argv: list[str]) -> int:
    jobs_path, out_path = Path(argv[0]), Path(argv[1])
    # Polars warns about fork() because a child of a process whose thread pool runs may deadlock; this
    # parent never starts that pool (it only imports), so every child starts from a clean state.
    warnings.filterwarnings("ignore", message=".*fork.*")
    results = run_jobs(json.loads(jobs_path.read_text()), out_path.parent)
    out_path.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
