"""One real Prefect engine (the test harness, a temporary local server) for the flow tests."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

# A fresh, private Prefect home before Prefect is imported anywhere in this session.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="wellspring-prefect-"))

from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(autouse=True, scope="session")
def prefect_engine() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield
