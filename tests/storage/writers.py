"""The writer process of the concurrent-commit test, in a module of its own so that a spawned
child imports only the storage layer, not the test's fixtures (seconds each on a loaded machine)."""

from __future__ import annotations

from typing import Any

import polars as pl

from tasks.core.storage import DataRoot

COMMITS = 4


def commit_many(home: str, writer: int, start: Any) -> None:
    """One writer: COMMITS appends to ``runs`` and COMMITS idempotent inserts into ``seen``, whose
    keys overlap the other writer's (``k0``.. are inserted by both). Both writers start each commit
    together (the barrier), so they keep reading the same version and racing to write the next."""
    root = DataRoot.at(home)
    for i in range(COMMITS):
        start.wait(timeout=120)
        root.append("runs", pl.DataFrame({"run_id": [f"w{writer}-{i}"], "summary": ["{}"]}), {"writer": str(writer)})
        start.wait(timeout=120)
        keys = [f"k{i}", f"w{writer}-{i}"]
        root.insert_new("seen", pl.DataFrame({"key": keys, "writer": [writer, writer]}), key="key")
