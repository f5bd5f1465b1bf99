"""A nightly run killed at every stage boundary and in the middle of table writes, then run again.

One driver process (``tests/faults/driver.py``) runs every scenario in a forked child: the crashed
run, then the re-run the nightly flow would do (finish crashed runs, then the inbox) on the same
data root. Each scenario's reservoir must equal the reservoir of one clean run of the same inbox.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from tasks.core import pipeline
from tests.faults.driver import BOUNDARIES, STAGES
from tests.faults.support import baseline, check_consistent, run_driver, small_inbox

# Where a write is cut short: (stage, the folder whose data file it is writing). The file-size limit
# (32 KiB) is above every file written earlier in that stage and below the one named here.
MID_WRITE = {
    "ingest": "raw",  # the raw table's data file (the stage's first write)
    "near_dedup": "signatures",  # after the stage committed its decisions
    "diversity": "models",  # the model file (staged, renamed into place when complete)
    "commit": "reservoir",  # the reservoir's data file, after the table was created
}
LIMIT = 32 * 1024


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("kill")
    inbox = small_inbox(tmp / "inbox")
    jobs: list[dict[str, Any]] = []
    names: list[str] = []
    for stage in BOUNDARIES:
        home = str(tmp / f"after-{stage}")
        jobs += [
            {"action": "run", "home": home, "inbox": str(inbox), "kill_after": stage},
            {"action": "rerun", "home": home, "inbox": str(inbox)},
        ]
        names.append(f"after-{stage}")
    for stage in MID_WRITE:
        home = str(tmp / f"during-{stage}")
        fault = {"fsize_during": stage, "fsize_bytes": LIMIT}
        jobs += [{"action": "run", "home": home, "inbox": str(inbox), **fault}, {"action": "inspect", "home": home}]
        jobs += [{"action": "rerun", "home": home, "inbox": str(inbox)}]
        names.append(f"during-{stage}")
    results = run_driver(jobs, tmp / "driver")
    expected = baseline(inbox, tmp / "baseline")
    by_name: dict[str, Any] = {"expected": expected, "tmp": tmp}
    i = 0
    for name in names:
        width = 3 if name.startswith("during-") else 2
        by_name[name] = results[i : i + width]
        i += width
    return by_name


@pytest.mark.parametrize("stage", BOUNDARIES)
def test_sigkill_at_stage_boundary_then_rerun_equals_no_fault_run(stage: str, scenarios: dict[str, Any]) -> None:
    crashed, rerun = scenarios[f"after-{stage}"]
    assert crashed["signal"] == "SIGKILL", crashed
    assert rerun["exit_code"] == 0 and rerun["ok"], rerun.get("traceback", rerun)
    # ingest commits raw first, so from then on the crashed run exists and the re-run must finish it
    assert len(rerun["finished_crashed_runs"]) == 1, rerun
    check_consistent(Path(rerun["job"]["home"]), scenarios["expected"])


@pytest.mark.parametrize("stage", list(MID_WRITE))
def test_killed_in_the_middle_of_a_write_then_rerun_equals_no_fault_run(stage: str, scenarios: dict[str, Any]) -> None:
    crashed, seen, rerun = scenarios[f"during-{stage}"]
    assert crashed["signal"] == "SIGXFSZ", crashed  # the kernel stopped it at byte LIMIT of a file
    # what the crash left: a partial file the Delta log never committed (or a model still in staging)
    home = Path(rerun["job"]["home"])
    assert seen["ok"], seen
    left = seen["partial_files"]
    folder = MID_WRITE[stage]
    assert any(f.startswith(folder + "/") for f in left), f"no partial write in {folder}: {left}"
    assert seen["readable"] == seen["tables"], "a table the crash touched no longer reads"
    assert rerun["exit_code"] == 0 and rerun["ok"], rerun.get("traceback", rerun)
    check_consistent(home, scenarios["expected"])


def test_the_driver_runs_the_stages_of_curate_inbox_in_its_order() -> None:
    """The fault driver stops between the stages it knows: they must be the reference run's stages."""
    called = re.findall(r"^\s+(?:summary = )?(\w+)\(root, run_id", inspect.getsource(pipeline.curate_inbox), re.M)
    assert [name.removesuffix("_stage") for name in called if name != "run_summary"] == list(STAGES)
