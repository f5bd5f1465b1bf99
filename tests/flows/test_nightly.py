"""The nightly flow under the real Prefect engine: results, stored tables and UI artifacts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.nightly import nightly_flow
from tasks.core.storage import DataRoot


async def _artifacts(key: str) -> list:  # type: ignore[type-arg]
    async with get_client() as client:
        return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))


def test_nightly_flow_end_to_end(sample_inbox: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    summary = nightly_flow(inbox=str(sample_inbox), home=str(home))
    dropped: dict[str, int] = summary["dropped"]  # type: ignore[assignment]
    assert summary["ingested"] == 3069
    assert summary["ingested"] == summary["admitted"] + sum(dropped.values())
    assert summary["quarantined"] == 9
    versions: dict[str, int] = summary["versions"]  # type: ignore[assignment]
    root = DataRoot.at(home)
    assert versions["reservoir"] == root.ref("reservoir").version
    assert root.scan("reservoir").collect().height == summary["admitted"]
    runs = root.scan("runs").collect()
    assert runs["run_id"].to_list() == [summary["run_id"]] and runs["flow_run_id"][0]

    diversity: dict[str, dict[str, float]] = summary["diversity"]  # type: ignore[assignment]
    assert diversity["batch"]["vendi_score"] > 10 and diversity["reservoir"]["documents"] == summary["admitted"]
    stored = root.scan("reservoir").select("cluster_id", "novelty").collect()
    assert stored["cluster_id"].null_count() == 0 and stored["cluster_id"].n_unique() > 10

    markdown = asyncio.run(_artifacts("nightly-summary"))
    assert markdown and str(summary["run_id"]) in markdown[0].data
    assert "exact_dup_of" in markdown[0].data and "vendi_score" in markdown[0].data
    table = asyncio.run(_artifacts("nightly-drop-reasons"))
    assert table and "truncated_input" in str(table[0].data)

    again = nightly_flow(inbox=str(sample_inbox), home=str(home))
    assert (again["ingested"], again["admitted"]) == (0, 0)
    assert again["versions"]["reservoir"] == versions["reservoir"]  # type: ignore[index]
    # After each run the flow maintains every table's Delta log (tasks/core/maintenance.py).
    maintained = {m["table"]: m for m in again["maintenance"]}  # type: ignore[attr-defined]
    assert {"raw", "decisions", "reservoir", "ledger", "runs"} <= set(maintained)
    for name, done in maintained.items():
        assert done["version"] == root.ref(name).version
        assert done["log_files_after"] == len(list((home / name / "_delta_log").iterdir()))


def test_a_failed_run_leaves_a_clear_failure_record(sample_inbox: Path, tmp_path: Path) -> None:
    import json

    import pytest

    from tasks.core.errors import ConfigError

    home = tmp_path / "home"
    with pytest.raises(ConfigError, match="does not exist"):
        nightly_flow(inbox=str(sample_inbox), home=str(home), config=str(tmp_path / "missing.yaml"))
    records = [json.loads(line) for line in (home / "failures.jsonl").read_text().splitlines()]
    assert records[0]["flow"] == "nightly-curation"
    assert "missing.yaml does not exist" in records[0]["message"]
