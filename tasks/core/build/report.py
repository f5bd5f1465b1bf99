"""A build's summary in markdown (Prefect artifact and terminal)."""

from __future__ import annotations

from typing import Any


def build_markdown(manifest: dict[str, Any], out: str) -> str:
    counts = manifest["counts"]
    lines = [
        f"# Build `{manifest['build_id']}`",
        "",
        f"- Reservoir version: **{manifest['reservoir_version']}** (pinned), seed {manifest['seed']}, "
        f"config hash `{manifest['config_hash']}`",
        f"- Documents: **{counts['documents']}** ({counts['human']} human, {counts['synthetic']} synthetic; "
        f"human share {counts['human_share']:.3f})",
        f"- Folder: `{out}` ({len(manifest['shards'])} shards; check with `wellspring builds verify {out}`)",
        "",
        "| source | documents |",
        "| --- | ---: |",
        *(f"| {s} | {n} |" for s, n in counts["by_source"].items()),
    ]
    diversity = manifest.get("diversity") or {}
    if diversity:
        lines += ["", "| metric | build | reservoir |", "| --- | ---: | ---: |"]
        lines += [f"| {k} | {v['build']:.4g} | {v['reservoir']:.4g} |" for k, v in diversity.items()]
    return "\n".join(lines)
