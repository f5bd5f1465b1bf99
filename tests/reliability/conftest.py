"""Shared switches of the reliability suite: the slow cases run only with ``WELLSPRING_RELIABILITY_FULL=1``."""

from __future__ import annotations

import os

import pytest

FULL = os.environ.get("WELLSPRING_RELIABILITY_FULL") == "1"
full_only = pytest.mark.skipif(
    not FULL, reason="slow reliability case: set WELLSPRING_RELIABILITY_FULL=1 (make reliability runs it)"
)
