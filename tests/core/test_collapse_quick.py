"""The collapse benchmark's quick setting end to end (sample data, real nightly stages and builds):
the effects point the way the literature says they do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tasks.core.collapse import (
    METRICS,
    CollapseConfig,
    final_rows,
    headline,
    run_benchmark,
    write_outputs,
)
from tasks.core.errors import WellspringError

CFG = CollapseConfig.quick()


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_benchmark(CFG, tmp_path_factory.mktemp("collapse") / "work")


def _final(result: dict[str, Any], policy: str, metric: str) -> float:
    value = result["policies"][policy][metric][-1]
    assert value is not None
    return float(value)


def test_every_policy_has_every_curve_for_every_generation(result: dict[str, Any]) -> None:
    assert list(result["policies"]) == CFG.policy_names
    for name, curves in result["policies"].items():
        expected = set(METRICS) - ({"leak_rate", "build_synthetic_share", "reservoir_synthetic_share"})
        if name == "wellspring":
            expected |= {"leak_rate", "build_synthetic_share", "reservoir_synthetic_share"}
        assert expected <= set(curves), name
        assert {len(v) for v in curves.values()} == {CFG.generations + 1}


def test_generation_zero_is_shared(result: dict[str, Any]) -> None:
    untruncated = [p for p in result["policies"] if not p.endswith("+top-p")]
    for metric in ("perplexity", "vocabulary_size", "tail_mass", "vendi_score"):
        assert len({result["policies"][p][metric][0] for p in untruncated}) == 1, metric
    for p in untruncated:
        assert result["policies"][p]["vocab_retention"][0] == 1.0


def test_replace_collapses_and_accumulating_real_data_resists(result: dict[str, Any]) -> None:
    replace = result["policies"]["replace"]
    assert replace["perplexity"][-1] > 1.5 * replace["perplexity"][0]
    assert replace["vocab_survival"] == sorted(replace["vocab_survival"], reverse=True)
    assert _final(result, "replace", "vocab_retention") < _final(result, "fixed-real", "vocab_retention")
    assert _final(result, "fixed-real", "vocab_retention") < _final(result, "accumulate", "vocab_retention")
    assert _final(result, "accumulate", "perplexity") < _final(result, "fixed-real", "perplexity")
    assert _final(result, "fixed-real", "perplexity") < _final(result, "replace", "perplexity")
    assert _final(result, "replace", "gaussian_variance_ratio") < _final(
        result, "accumulate", "gaussian_variance_ratio"
    )


def test_truncated_sampling_kills_the_tails_fastest(result: dict[str, Any]) -> None:
    assert _final(result, "replace+top-p", "vocab_retention") < _final(result, "replace", "vocab_retention")
    assert _final(result, "replace+top-p", "tail_mass_ratio") < _final(result, "replace", "tail_mass_ratio")
    assert _final(result, "replace+top-p", "distinct_2") < _final(result, "replace", "distinct_2")


def test_wellspring_curation_keeps_the_model_close_to_generation_zero(result: dict[str, Any]) -> None:
    w = result["policies"]["wellspring"]
    assert w["leak_rate"][0] is None
    assert all(0.0 <= x <= 1.0 for x in w["leak_rate"][1:])
    assert all(0.0 <= x < 0.5 for x in w["build_synthetic_share"])  # fresh human data keeps the majority
    assert _final(result, "wellspring", "vocab_retention") > _final(result, "replace", "vocab_retention")
    assert _final(result, "wellspring", "perplexity") < _final(result, "replace", "perplexity")
    assert _final(result, "wellspring", "vocab_retention") > 0.9


def test_outputs_and_report(result: dict[str, Any], tmp_path: Path) -> None:
    files = write_outputs(result, tmp_path / "out")
    data = json.loads(files["json"].read_text())
    assert data["policies"]["replace"]["vocab_retention"] == result["policies"]["replace"]["vocab_retention"]
    plots = {p.stem for p in files["plots"].glob("*.png")}
    assert set(METRICS) <= plots
    report = files["report"].read_text()
    for name in CFG.policy_names:
        assert f"**{name}**" in report
    assert "Provenance stage" in report and "Sanity check" in report
    rows = final_rows(result)
    assert [r["policy"] for r in rows] == CFG.policy_names
    assert set(headline(result)) == {
        "wellspring_vocab_retention",
        "wellspring_tail_mass_ratio",
        "wellspring_perplexity_change",
        "replace_vocab_retention",
    }


def test_a_used_work_folder_is_refused(result: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    with pytest.raises(WellspringError, match="already holds"):
        run_benchmark(CFG, tmp_path)
