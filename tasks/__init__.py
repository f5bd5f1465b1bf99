"""Wellspring tasks: Prefect wrappers around the pure library in ``tasks.core``."""

import os

# Offline and quiet by default (no telemetry, generous ephemeral-server start-up on busy machines).
# Set before Prefect reads its settings; a user's own values win.
for _name, _value in {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}.items():
    os.environ.setdefault(_name, _value)
