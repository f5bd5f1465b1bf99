"""Result caching of the stage tasks under the real Prefect engine: keyed on inputs and on the logic version."""

from __future__ import annotations

import shutil
from pathlib import Path

from prefect import flow
from prefect.cache_policies import CompoundCachePolicy
from prefect.states import State

from tasks.caching import CORE_DIR, LogicVersion, logic_version, stage_cache_policy
from tasks.clean import apply_quality_rules
from tasks.core import pipeline
from tasks.core.config import IngestConfig, QualityConfig
from tasks.core.ledger import list_inputs
from tasks.core.storage import DataRoot
from tasks.runs import Run, start_run


def _ingested_run(inbox: Path, home: Path) -> Run:
    run = start_run(str(home), str(inbox))
    pipeline.ingest_stage(DataRoot.at(home), run.run_id, list_inputs([str(inbox)]), IngestConfig())
    return run


def _quality(run: Run, cfg: QualityConfig, core: Path | None = None) -> State:
    stage = (
        apply_quality_rules if core is None else apply_quality_rules.with_options(cache_policy=stage_cache_policy(core))
    )

    @flow
    def one_stage() -> State:
        return stage(run, cfg, return_state=True)

    return one_stage()


def test_the_stage_tasks_key_their_cache_on_the_real_core_source() -> None:
    policy = apply_quality_rules.cache_policy
    assert isinstance(policy, CompoundCachePolicy)
    logic = [p for p in policy.policies if isinstance(p, LogicVersion)]
    assert logic and logic[0].source_dir == Path(__file__).resolve().parents[2] / "tasks" / "core" == CORE_DIR


def test_a_finished_stage_comes_from_the_cache_unless_its_inputs_change(sample_inbox: Path, tmp_path: Path) -> None:
    run = _ingested_run(sample_inbox, tmp_path / "home")
    first = _quality(run, QualityConfig())
    assert first.is_completed() and first.name == "Completed"
    dropped = first.result().dropped
    assert sum(dropped.values()) > 0

    again = _quality(run, QualityConfig())
    assert again.name == "Cached" and again.result().dropped == dropped

    # The resumed run is the same run: the wall-clock fields of Run are not part of the key.
    resumed = Run(run.home, run.run_id, "(resumed)", run.started_at.replace(year=2030))
    assert _quality(resumed, QualityConfig()).name == "Cached"

    stricter = QualityConfig(min_words=QualityConfig().min_words + 20)
    assert _quality(run, stricter).name == "Completed"


def test_a_change_in_the_core_logic_invalidates_the_cache(sample_inbox: Path, tmp_path: Path) -> None:
    """The real stage task with its policy pointed at a copy of ``tasks/core``, which the test then edits."""
    core = tmp_path / "core"
    shutil.copytree(CORE_DIR, core, ignore=shutil.ignore_patterns("__pycache__"))
    assert logic_version(core) == logic_version(CORE_DIR)
    run = _ingested_run(sample_inbox, tmp_path / "home")

    assert _quality(run, QualityConfig(), core).name == "Completed"
    assert _quality(run, QualityConfig(), core).name == "Cached"

    rules = core / "clean" / "quality.py"
    rules.write_text(rules.read_text() + "\n# a change to the quality rules\n")
    assert logic_version(core) != logic_version(CORE_DIR)
    assert _quality(run, QualityConfig(), core).name == "Completed"
    assert _quality(run, QualityConfig(), core).name == "Cached"
