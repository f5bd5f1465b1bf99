"""The Prefect UI as a person sees it: headless Chromium renders the nightly run and its artifacts.

Screenshots are saved in ``tests/artifacts/`` for a person (or a CI job) to look at.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ui.conftest import NightlyRun

SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts"
# Offline and quiet: no GPU, no sandbox (root in containers), no background or component-update traffic.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,2000",
    "--virtual-time-budget=15000",  # the single-page app fetches from the API before it renders
]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = os.environ.get("WELLSPRING_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium; `make test` does it as root)")
    return found


def render(chromium: str, url: str, profile: Path, screenshot: Path) -> str:
    """The page's text after its scripts ran, and a screenshot of it."""
    out = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={screenshot}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000, f"empty screenshot of {url}"
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", out.stdout, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def test_flow_run_page_shows_the_completed_run(chromium: str, nightly_run: NightlyRun, tmp_path: Path) -> None:
    url = f"{nightly_run.server.url}/runs/flow-run/{nightly_run.flow_run['id']}"
    text = render(chromium, url, tmp_path / "profile", SCREENSHOTS / "nightly-flow-run.png")
    assert nightly_run.flow_run["name"] in text
    assert "Completed" in text
    for tab in ("Logs", "Task Runs", "Artifacts", "Parameters"):
        assert tab in text
    assert "nightly-curation" in text and "wellspring" in text  # flow and work pool


def test_summary_artifact_page_shows_the_run_summary(chromium: str, nightly_run: NightlyRun, tmp_path: Path) -> None:
    artifact = nightly_run.artifacts["nightly-summary"]
    url = f"{nightly_run.server.url}/artifacts/artifact/{artifact['id']}"
    text = render(chromium, url, tmp_path / "profile", SCREENSHOTS / "nightly-summary.png")
    assert f"Nightly run {nightly_run.run_id}" in text
    assert "admitted to the reservoir" in text
    assert "exact_dup_of" in text
    assert nightly_run.flow_run["name"] in text  # the artifact links back to its run


def test_drop_reasons_artifact_page_shows_the_table(chromium: str, nightly_run: NightlyRun, tmp_path: Path) -> None:
    artifact = nightly_run.artifacts["nightly-drop-reasons"]
    url = f"{nightly_run.server.url}/artifacts/artifact/{artifact['id']}"
    text = render(chromium, url, tmp_path / "profile", SCREENSHOTS / "nightly-drop-reasons.png")
    assert "outcome reason records" in text  # the table's header row
    assert re.search(r"dropped exact_dup_of \d+", text), text[:2000]
    assert re.search(r"quarantined \w+ \d+", text)
