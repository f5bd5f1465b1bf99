"""The diversity report, its summary, and ``wellspring diversity report`` on a small real reservoir."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flows.cli_diversity import app
from tasks.core.diversity import DiversityConfig, DiversityMetrics, diversity_report, diversity_summary, model_versions
from tasks.core.errors import NotFoundError
from tasks.core.storage import DataRoot

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
CFG = DiversityConfig(
    svd_components=24, n_clusters=10, sample_size=150, lexical_tokens=20_000, neighbour_sample_size=300
)


def reservoir_rows(path: Path) -> pl.DataFrame:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        rows = [json.loads(line) for line in f]
    return pl.DataFrame(
        {
            "doc_id": [r["id"] for r in rows],
            "text": [r["text"] for r in rows],
            "source": [r["source"] for r in rows],
            "url": [r["url"] for r in rows],
            "license": [r["license"] for r in rows],
            "created_at": [r["created_at"] for r in rows],
            "lang": [r["lang"] for r in rows],
            "meta": [json.dumps(r["meta"]) for r in rows],
            "admitted_run": ["test"] * len(rows),
        }
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data root whose reservoir has v0 (docs-a, 428 docs) and v1 (+ docs-b, 1,140 docs)."""
    root = DataRoot.at(tmp_path / "home")
    root.append("reservoir", reservoir_rows(SAMPLE / "inbox" / "docs-a.jsonl"))
    root.append("reservoir", reservoir_rows(SAMPLE / "inbox" / "docs-b.jsonl.gz"))
    return tmp_path / "home"


def test_report_writes_markdown_and_plots_and_compares_with_the_previous_version(home: Path, tmp_path: Path) -> None:
    root = DataRoot.at(home)
    path = diversity_report(root, out_dir=tmp_path / "out", cfg=CFG)
    assert path == tmp_path / "out" / "diversity.md"
    text = path.read_text()
    assert "# Diversity of reservoir v1" in text and "reservoir v0" in text
    for name in DiversityMetrics.names():
        assert f"`{name}`" in text
    for png in ("cluster_sizes.png", "rank_frequency.png"):
        assert f"]({png})" in text
        assert (tmp_path / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert model_versions(root) == [1]

    summary = diversity_summary(root, cfg=CFG)  # reuses the stored model: it is fresh
    assert model_versions(root) == [1] and summary.model_refit is None
    assert (summary.version, summary.previous_version) == (1, 0)
    assert summary.metrics.documents == 1140 and summary.previous is not None and summary.previous.documents == 428
    change = summary.change
    assert change["documents"] == 712 and set(change) == set(DiversityMetrics.names())
    payload = json.loads(json.dumps(summary.to_dict()))
    assert payload["vendi_score"] == summary.metrics.vendi_score and payload["previous"]["documents"] == 428


def test_a_grown_reservoir_refits_the_model(home: Path) -> None:
    root = DataRoot.at(home)
    first = diversity_summary(root, version=0, cfg=CFG)
    assert first.previous is None and first.previous_version is None and first.model_refit == "no diversity model yet"
    grown = diversity_summary(root, version=1, cfg=CFG)  # 1,140 >= 1.5 x 428
    assert grown.model_refit is not None and "grew from 428 to 1140" in grown.model_refit
    assert model_versions(root) == [1, 2]


def test_report_on_a_missing_reservoir_or_version_is_a_clear_error(tmp_path: Path, home: Path) -> None:
    with pytest.raises(NotFoundError, match="empty"):
        diversity_summary(DataRoot.at(tmp_path / "nothing"), cfg=CFG)
    with pytest.raises(NotFoundError, match="no version 5"):
        diversity_summary(DataRoot.at(home), version=5, cfg=CFG)


def test_cli_report_json_has_every_metric_by_name(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-out"
    result = CliRunner().invoke(app, ["report", "--home", str(home), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    for name in DiversityMetrics.names():
        assert name in payload and name in payload["change"]
    assert payload["reservoir_version"] == 1 and payload["previous_version"] == 0
    assert payload["report"] == str(out / "diversity.md") and len(payload["plots"]) == 2

    text = CliRunner().invoke(app, ["report", "--home", str(home), "--version", "0", "--out", str(out / "v0")])
    assert text.exit_code == 0 and "reservoir v0: 428 documents" in text.output


def test_cli_errors_are_one_line_with_exit_code_1(tmp_path: Path, home: Path) -> None:
    empty = CliRunner().invoke(app, ["report", "--home", str(tmp_path / "empty"), "--json"])
    assert empty.exit_code == 1 and empty.output.startswith("error: the reservoir") and "Traceback" not in empty.output
    missing = CliRunner().invoke(app, ["report", "--home", str(home), "--version", "9"])
    assert missing.exit_code == 1 and "no version 9" in missing.output
