"""The ``wellspring`` console script as a user runs it: real subprocesses, real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

WELLSPRING = shutil.which("wellspring") or str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "wellspring")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return subprocess.run([WELLSPRING, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def test_nightly_json_prints_one_object_and_counts_add_up(sample_inbox: Path, tmp_path: Path) -> None:
    out = run("nightly", "--inbox", str(sample_inbox), "--home", str(tmp_path / "home"), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)  # exactly one JSON document: logs went to stderr
    for key in ("run_id", "ingested", "quarantined", "dropped", "admitted", "versions"):
        assert key in summary
    assert summary["ingested"] == summary["admitted"] + sum(summary["dropped"].values())
    assert (tmp_path / "home" / "reservoir" / "_delta_log").is_dir()


def test_ingest_json_and_explain(sample_inbox: Path, tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    out = run(
        "ingest",
        str(sample_inbox / "docs-a.jsonl"),
        str(sample_inbox / "bad-lines.jsonl"),
        "--home",
        home,
        "--json",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert (payload["ingested"], payload["quarantined"]) == (438, 6)
    again = json.loads(run("ingest", str(sample_inbox / "docs-a.jsonl"), "--home", home, "--json", cwd=tmp_path).stdout)
    assert (again["ingested"], again["skipped_seen_files"]) == (0, 1)


def test_expected_failures_are_one_line_without_traceback(sample_inbox: Path, tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    cases = [
        run("explain", "nope", "--home", home, cwd=tmp_path),
        run("nightly", "--inbox", str(tmp_path / "missing"), "--home", home, cwd=tmp_path),
        run(
            "ingest", str(sample_inbox / "mystery.bin"), str(sample_inbox / "empty.jsonl"), "--home", home, cwd=tmp_path
        ),
        run("ingest", str(tmp_path / "missing.jsonl"), "--home", home, cwd=tmp_path),
    ]
    for out in cases:
        assert out.returncode == 1
        assert "Traceback" not in out.stderr
        assert out.stderr.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.parametrize("config", ["quality:\n  min_words: -oops\n", "nonsense_section: 1\n", "quality: [\n"])
def test_bad_config_is_refused_with_the_field_named(config: str, sample_inbox: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(config)
    out = run(
        "ingest", str(sample_inbox / "docs-a.jsonl"), "--config", str(path), "--home", str(tmp_path / "h"), cwd=tmp_path
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert str(path) in out.stderr
