"""Shared fixtures: the shipped sample data, a fresh data root, and the shared corpus when present."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tasks.core.storage import DataRoot

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
CORPUS = Path(os.environ.get("WELLSPRING_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture
def sample_inbox(tmp_path: Path) -> Path:
    """A private copy of the shipped demo inbox (tests may add files to it)."""
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE / "inbox", inbox)
    return inbox


@pytest.fixture
def root(tmp_path: Path) -> DataRoot:
    return DataRoot.at(tmp_path / "home")


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus folder; tests that need it skip cleanly when it is absent."""
    if not (CORPUS / "human.parquet").is_file():
        pytest.skip(f"shared corpus not found at {CORPUS} (set WELLSPRING_CORPUS)")
    return CORPUS
