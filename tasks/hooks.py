"""Flow-run state hooks: a clear failure record (and an optional webhook) when a run fails."""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request
from typing import Any

from tasks.core.storage import DataRoot

WEBHOOK_ENV = "WELLSPRING_FAILURE_WEBHOOK"


def record_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Append ``{time, flow, run, message}`` to ``<home>/failures.jsonl`` and POST it to
    ``$WELLSPRING_FAILURE_WEBHOOK`` when that is set. Never raises: a broken hook must not hide
    the failure it reports."""
    params = getattr(flow_run, "parameters", {}) or {}
    entry = {
        "time": dt.datetime.now(dt.UTC).isoformat(),
        "flow": getattr(flow, "name", str(flow)),
        "flow_run": getattr(flow_run, "name", None),
        "flow_run_id": str(getattr(flow_run, "id", "")),
        "parameters": {k: v for k, v in params.items() if isinstance(v, str | int | float | bool | type(None))},
        "message": getattr(state, "message", None) or str(state),
    }
    try:
        root = DataRoot.at(params.get("home"))
        if root.has_state_dir:
            with open(root.path("failures.jsonl"), "a") as fh:
                fh.write(json.dumps(entry) + "\n")
        url = os.environ.get(WEBHOOK_ENV)
        if url:
            request = urllib.request.Request(
                url, data=json.dumps(entry).encode(), headers={"Content-Type": "application/json"}, method="POST"
            )
            urllib.request.urlopen(request, timeout=10).close()
    except Exception as e:  # the hook reports failures; it must not raise one of its own
        print(f"wellspring: could not record the failure: {e}")
