"""The ``nightly`` deployment of ``prefect.yaml`` on a real server: deployed from a clone, run by a worker."""

from __future__ import annotations

import json

from tests.ui.conftest import NightlyRun


def test_deployment_from_a_clone_bakes_in_no_path(nightly_run: NightlyRun) -> None:
    deployment = nightly_run.deployment
    assert str(nightly_run.clone) not in json.dumps(deployment), "an absolute path of the clone was baked in"
    assert deployment["work_pool_name"] == "wellspring"
    assert deployment["tags"] == ["nightly"]
    assert deployment["entrypoint"] == "flows/nightly.py:nightly_flow"
    assert deployment["parameters"] == {"inbox": "inbox", "home": ".wellspring", "config": None}
    [schedule] = deployment["schedules"]
    assert (schedule["schedule"]["cron"], schedule["schedule"]["timezone"]) == ("0 2 * * *", "UTC")
    assert schedule["active"]


def test_build_deployment_is_deployed_alongside_on_demand(nightly_run: NightlyRun) -> None:
    build = nightly_run.build_deployment
    assert str(nightly_run.clone) not in json.dumps(build)
    assert build["work_pool_name"] == "wellspring"
    assert build["entrypoint"] == "flows/build.py:build_dataset_flow"
    assert build["parameters"] == {"home": ".wellspring"}
    assert build["schedules"] == []


def test_triggered_run_completes_in_the_clone_and_publishes_its_artifacts(nightly_run: NightlyRun) -> None:
    assert nightly_run.flow_run["state_type"] == "COMPLETED"
    assert nightly_run.flow_run["name"].startswith("nightly-")
    assert (nightly_run.home / "reservoir" / "_delta_log").is_dir()
    assert not (nightly_run.clone / ".wellspring").exists()  # the parameters replaced the relative defaults

    assert {"nightly-summary", "nightly-drop-reasons"} <= nightly_run.artifacts.keys()
    summary = nightly_run.artifacts["nightly-summary"]
    assert summary["type"] == "markdown"
    assert nightly_run.run_id in summary["data"]
    assert nightly_run.run_id in summary["description"]
    assert "exact_dup_of" in summary["data"]

    table = nightly_run.artifacts["nightly-drop-reasons"]
    assert table["type"] == "table"
    rows = json.loads(table["data"])
    by_reason = {(r["outcome"], r["reason"]): r["records"] for r in rows}
    assert by_reason[("dropped", "exact_dup_of")] > 0
    assert any(outcome == "quarantined" for outcome, _ in by_reason)
    print(f"\nnightly deployment timings (s): {nightly_run.seconds}")
