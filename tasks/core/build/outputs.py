"""A build's files: Parquet shards, ``manifest.json``, and their verification."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from tasks.core.checksums import sha256_file
from tasks.core.errors import WellspringError

SHARD_COLUMNS = ["doc_id", "text", "source", "p_human", "cluster_id", "license", "lang", "origin"]


class VerificationFailed(WellspringError):
    """A build folder does not match its manifest."""


def write_shards(rows: pl.DataFrame, folder: Path, shard_rows: int) -> list[dict[str, Any]]:
    """Write ``rows`` as zstd Parquet shards ``data-00000-of-0000N.parquet``; byte-identical for
    identical rows (fixed compression, row groups and no timestamps in the file)."""
    frame = rows.select([c for c in SHARD_COLUMNS if c in rows.columns])
    n_shards = max(1, -(-frame.height // shard_rows))
    shards = []
    for i in range(n_shards):
        part = frame.slice(i * shard_rows, shard_rows)
        name = f"data-{i:05d}-of-{n_shards:05d}.parquet"
        path = folder / name
        pq.write_table(
            part.to_arrow(), path, compression="zstd", compression_level=9, row_group_size=10_000, write_statistics=True
        )
        shards.append({"file": name, "rows": part.height, "sha256": sha256_file(path), "bytes": path.stat().st_size})
    return shards


def verify(folder: Path) -> dict[str, Any]:
    """Re-check every shard's checksum and row count against ``manifest.json``, and that no shard
    is missing or extra. Raises :class:`VerificationFailed` naming the first problem."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise VerificationFailed(f"{folder} has no manifest.json: it is not a Wellspring build folder")
    manifest = json.loads(manifest_path.read_text())
    problems = []
    listed = {s["file"] for s in manifest["shards"]}
    on_disk = {p.name for p in folder.glob("data-*.parquet")}
    problems += [f"shard {f} is missing" for f in sorted(listed - on_disk)]
    problems += [f"shard {f} is not in the manifest" for f in sorted(on_disk - listed)]
    rows = 0
    for shard in manifest["shards"]:
        path = folder / shard["file"]
        if not path.exists():
            continue
        if sha256_file(path) != shard["sha256"]:
            problems.append(f"shard {shard['file']} checksum differs from the manifest")
            continue
        n = pq.ParquetFile(path).metadata.num_rows
        rows += n
        if n != shard["rows"]:
            problems.append(f"shard {shard['file']} has {n} rows, the manifest says {shard['rows']}")
    if rows != manifest["counts"]["documents"] and not problems:
        problems.append(f"shards hold {rows} rows, the manifest counts {manifest['counts']['documents']}")
    if problems:
        raise VerificationFailed(f"{folder}: " + "; ".join(problems))
    return {"build_id": manifest["build_id"], "shards": len(listed), "documents": rows, "ok": True}
