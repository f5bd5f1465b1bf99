"""``prefect.yaml`` and the served deployments agree with the flows they run (no server needed)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect import Flow

from flows.nightly import nightly_flow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "prefect.yaml").read_text())
    return loaded


def deployment(project: dict[str, Any], name: str) -> dict[str, Any]:
    found = [d for d in project["deployments"] if d["name"] == name]
    assert len(found) == 1, f"prefect.yaml has {len(found)} deployments named {name!r}"
    return found[0]


def test_nightly_deployment_runs_nightly_at_two_utc_on_the_process_pool(project: dict[str, Any]) -> None:
    nightly = deployment(project, "nightly")
    assert nightly_flow.name == "nightly-curation"
    assert nightly["entrypoint"] == "flows/nightly.py:nightly_flow"
    assert nightly["schedules"] == [{"cron": "0 2 * * *", "timezone": "UTC"}]
    assert nightly["tags"] == ["nightly"]
    assert nightly["work_pool"]["name"] == "wellspring"


def test_build_deployment_runs_on_demand_on_the_process_pool(project: dict[str, Any]) -> None:
    build = deployment(project, "build")
    assert build["entrypoint"] == "flows/build.py:build_dataset_flow"
    assert not build.get("schedules")
    assert build["work_pool"]["name"] == "wellspring"


def test_every_entrypoint_exists_and_parameters_match_the_flow_signature(project: dict[str, Any]) -> None:
    for d in project["deployments"]:
        path, _, function = d["entrypoint"].partition(":")
        assert (REPO / path).is_file(), f"{d['name']}: no {path}"
        flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), function)
        assert isinstance(flow, Flow), f"{d['entrypoint']} is not a Prefect flow"
        signature = inspect.signature(flow.fn)
        given = set(d.get("parameters") or {})
        assert given <= set(signature.parameters), (
            f"{d['name']}: unknown parameters {given - set(signature.parameters)}"
        )
        if d.get("schedules"):  # on-demand deployments take their required parameters when triggered
            required = {n for n, p in signature.parameters.items() if p.default is inspect.Parameter.empty}
            assert required <= given, f"{d['name']}: a scheduled run would miss {required - given}"


def test_no_absolute_path_is_baked_in(project: dict[str, Any]) -> None:
    """Every path is relative to the worker's directory, so a clone anywhere deploys as is."""
    [pull] = project["pull"]
    assert pull == {"prefect.deployments.steps.set_working_directory": {"directory": "."}}
    for d in project["deployments"]:
        assert d["work_pool"]["job_variables"]["working_dir"] == "."
        for value in (d.get("parameters") or {}).values():
            assert value is None or not Path(value).is_absolute()
    assert str(REPO) not in (REPO / "prefect.yaml").read_text()


def test_served_deployments_match_the_yaml_ones(project: dict[str, Any], tmp_path: Path) -> None:
    from flows.serve import ServeOptions, deployments

    served = {d.name: d for d in deployments(ServeOptions(home=str(tmp_path / "home"), inbox=str(tmp_path)))}
    assert set(served) == {"nightly-served", "build-served"}
    assert served["build-served"].entrypoint == "flows.build.build_dataset_flow"
    assert not served["build-served"].schedules
    nightly = served["nightly-served"]
    assert nightly.entrypoint == "flows.nightly.nightly_flow"
    assert nightly.work_pool_name is None
    assert nightly.parameters == {"inbox": str(tmp_path), "home": str(tmp_path / "home")}
    [schedule] = nightly.schedules or []
    yaml_schedule = deployment(project, "nightly")["schedules"][0]
    assert (schedule.schedule.cron, schedule.schedule.timezone) == (yaml_schedule["cron"], yaml_schedule["timezone"])  # type: ignore[union-attr]


def test_serve_refuses_a_bad_cron_expression(tmp_path: Path) -> None:
    from flows.serve import ServeOptions, deployments
    from tasks.core.errors import WellspringError

    with pytest.raises(WellspringError, match="not a cron expression"):
        deployments(ServeOptions(home=str(tmp_path), inbox=str(tmp_path), cron="every night"))
