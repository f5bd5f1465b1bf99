"""Reservoir commit, stats, diff, log and retraction at 1M documents, against a plain-Parquet peer.

``python -m benchmarks.reservoir [--quick] [--no-peer] [--profile]`` measures, each contender in a
fresh process (so its peak RSS is its own):

* Wellspring: ``tasks.core.reservoir.commit`` loads a reservoir in batches (10 x 100k, timing each
  commit, so the table shows how commit time grows with the reservoir), then commits a 10k and a
  100k batch of new documents, re-commits the same 100k (idempotent: inserts 0), and times
  ``stats``, ``diff`` (the 100k commit), ``log`` and ``retract(source=...)`` at that size;
* the peer: the same idempotent insert as a plain Parquet append (read every stored ``doc_id``,
  polars anti-join, write the new rows as one more file), run through the same sequence of batches.
  It has no versions, no time travel, no atomic commit and no concurrency control.

**The 1M documents.** ``human.parquet`` (117,754 documents, already de-duplicated here by ``doc_id``)
is repeated: copy 0 is the corpus as is, copy ``k >= 1`` appends ``"\\n\\n(copy k)"`` to every text.
The dedup key of the perturbed text is the original key plus ``" (copy k)"``, so every copy has new
``doc_id`` s (xxh3-128 of the key, as ingest computes them; checked unique). Global row ``g`` is row
``g mod n`` of copy ``g div n``; the reservoir is rows ``[0, 1M)``, the new batches follow it. Rows
have the ``raw`` table's columns: ``record_id`` = hash of the copy's input name + position,
``url`` = the corpus ``origin``, ``domain`` from it, ``meta`` = the corpus meta,
``run_id`` = the commit's run. Batches are written once to ``benchmarks/.work/reservoir/`` as
Parquet; reading a batch is timed apart from committing it.

``--quick`` divides every size by 10 (a 100k reservoir, batches of 1k and 10k); targets are for
the full run. ``--profile`` writes a cProfile of the large commit to ``benchmarks/.work/reservoir/``
and puts where its time went in the notes. Results:
``benchmarks/results/reservoir[.quick].{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPO,
    WORK,
    Skip,
    corpus_dir,
    emit,
    load_average,
    machine,
    measure,
    peak_rss_mb,
    table,
    write_results,
)

FULL_RESERVOIR = 1_000_000
LOAD_BATCHES = 10
SMALL_NEW = 10_000
LARGE_NEW = 100_000
QUICK_SCALE = 10
TARGET_COMMIT_S = 30.0  # 100k new documents into a 1M reservoir
TARGET_STATS_S = 2.0
RETRACT_SOURCE = "moby-dick"  # a small source present in every copy
GENERATOR = "reservoir-bench-v1"  # bump when the batch generation changes, so cached batches are rebuilt


# ---------------------------------------------------------------- inputs (written once, in the parent)


def plan(quick: bool) -> dict[str, Any]:
    """Sizes of this run: the reservoir, its load batches and the new batches."""
    scale = QUICK_SCALE if quick else 1
    reservoir = FULL_RESERVOIR // scale
    load = reservoir // LOAD_BATCHES
    return {
        "quick": quick,
        "reservoir": reservoir,
        "load_batch": load,
        "small_new": SMALL_NEW // scale,
        "large_new": LARGE_NEW // scale,
    }


def _base_corpus() -> Any:
    """The corpus as ``raw``-like columns with its dedup keys, one row per distinct ``doc_id``."""
    import polars as pl

    from tasks.core.clean.normalize import dedup_key, doc_ids, normalized_text

    frame = pl.read_parquet(corpus_dir() / "human.parquet").with_columns(normalized_text(pl.col("text")).alias("text"))
    frame = frame.with_columns(dedup_key(pl.col("text")).alias("key"))
    frame = frame.with_columns(doc_ids(frame["key"]).alias("doc_id")).unique(
        "doc_id", keep="first", maintain_order=True
    )
    domain = r"^[A-Za-z][A-Za-z0-9+.\-]*://(?:[^@/?#]*@)?([^:/?#]+)"
    return frame.select(
        "key",
        "text",
        "source",
        pl.col("origin").alias("url"),
        pl.col("origin").str.extract(domain, 1).str.to_lowercase().alias("domain"),
        pl.lit(None, pl.String).alias("fetched_at"),
        "created_at",
        "license",
        "lang",
        "meta",
    )


def _batch(base: Any, start: int, count: int, run_id: str) -> Any:
    """Global rows ``[start, start + count)`` as a ``raw``-shaped frame (see the module docstring)."""
    import polars as pl
    import xxhash

    from tasks.core.clean.normalize import doc_ids

    n = base.height
    parts = []
    g = start
    while g < start + count:
        copy, row = divmod(g, n)
        take = min(n - row, start + count - g)
        part = base.slice(row, take)
        suffix = f"(copy {copy})"
        if copy:
            part = part.with_columns(
                (pl.col("text") + "\n\n" + suffix).alias("text"), (pl.col("key") + " " + suffix).alias("key")
            )
        name = f"human.parquet#copy{copy}"
        prefix = xxhash.xxh64_hexdigest(name.encode())
        part = part.with_columns(
            doc_ids(part["key"]).alias("doc_id"),
            pl.lit(name).alias("input"),
            pl.int_range(row, row + take, dtype=pl.Int64).alias("position"),
        ).with_columns((pl.lit(prefix + ":") + pl.col("position").cast(pl.String)).alias("record_id"))
        parts.append(part)
        g += take
    columns = ["record_id", "doc_id", "text", "source", "url", "domain", "fetched_at", "created_at", "license"]
    columns += ["lang", "meta", "input", "position"]
    return pl.concat(parts).select(*columns, pl.lit(run_id).alias("run_id"))


def prepare_batches(p: dict[str, Any]) -> dict[str, Any]:
    """Write every batch of the plan as Parquet once; return ``{"load": [paths], "small": path, "large": path}``."""
    import polars as pl

    from tasks.core.clean.normalize import doc_id_of

    folder = WORK / "reservoir" / ("quick" if p["quick"] else "full")
    marker = folder / "plan.json"
    wanted = {**p, "generator": GENERATOR}
    specs = [(f"load_{i:02d}", i * p["load_batch"], p["load_batch"]) for i in range(LOAD_BATCHES)]
    specs += [
        ("new_small", p["reservoir"], p["small_new"]),
        ("new_large", p["reservoir"] + p["small_new"], p["large_new"]),
    ]
    paths = {name: folder / f"{name}.parquet" for name, _, _ in specs}
    if not (marker.is_file() and json.loads(marker.read_text()) == wanted and all(f.is_file() for f in paths.values())):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"writing the batches to {folder.relative_to(REPO)} (once)", file=sys.stderr, flush=True)
        started = time.perf_counter()
        base = _base_corpus()
        seen = 0
        for name, start, count in specs:
            batch = _batch(base, start, count, run_id=name)
            seen += batch["doc_id"].n_unique()
            batch.write_parquet(paths[name], compression="zstd", compression_level=3)
        total = sum(c for _, _, c in specs)
        all_ids = pl.scan_parquet(list(paths.values())).select(pl.col("doc_id").n_unique()).collect().item()
        if all_ids != total:
            raise RuntimeError(f"generated {total} rows but {all_ids} distinct doc_ids: the perturbation collided")
        probe = pl.read_parquet(paths["new_small"], n_rows=1)
        if doc_id_of(probe["text"][0]) != probe["doc_id"][0]:
            raise RuntimeError("generated doc_id differs from tasks.core.clean.normalize.doc_id_of")
        marker.write_text(json.dumps({**wanted, "corpus_docs": base.height}))
        print(f"  {total:,} rows in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    info = json.loads(marker.read_text())
    return {
        "load": [str(paths[name]) for name, _, _ in specs[:LOAD_BATCHES]],
        "small": str(paths["new_small"]),
        "large": str(paths["new_large"]),
        "corpus_docs": info["corpus_docs"],
    }


# ---------------------------------------------------------------- children (one process per contender)


def _read(path: str, run_id: str) -> tuple[Any, float]:
    import polars as pl

    t0 = time.perf_counter()
    frame = pl.read_parquet(path).with_columns(pl.lit(run_id).alias("run_id"))
    return frame, time.perf_counter() - t0


def _disk_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def child_wellspring(batches: dict[str, Any], home: Path, profile: Path | None) -> dict[str, Any]:
    """Load the reservoir, then the new commits and the read / retract operations; seconds of each."""
    started = time.perf_counter()
    from tasks.core import reservoir
    from tasks.core.storage import DataRoot

    imported = time.perf_counter()
    shutil.rmtree(home, ignore_errors=True)
    root = DataRoot.at(home)
    ops: list[dict[str, Any]] = []
    size = 0

    def commit(label: str, path: str, run_id: str, phase: str, prof: Any = None) -> int | None:
        nonlocal size
        frame, read_s = _read(path, run_id)
        if prof is not None:
            prof.enable()
        t0 = time.perf_counter()
        ref, mine = reservoir.commit(root, run_id, frame, {"bench": "reservoir"})
        seconds = time.perf_counter() - t0
        if prof is not None:
            prof.disable()
        ops.append(
            {
                "operation": label,
                "phase": phase,
                "reservoir_before": size,
                "batch": frame.height,
                "inserted": len(mine),
                "seconds": seconds,
                "read_seconds": read_s,
                "version": ref.version,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
        size += len(mine)
        return ref.version

    for i, path in enumerate(batches["load"]):
        commit(f"load {i + 1}/{len(batches['load'])}", path, f"load-{i:02d}", "load")
    v_before = commit("commit new (small)", batches["small"], "new-small", "new")
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
    v_after = commit("commit new (large)", batches["large"], "new-large", "new", profiler)
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile)
    commit("re-commit same (large)", batches["large"], "new-large-again", "idempotent")

    def timed(label: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        out = fn()
        ops.append(
            {
                "operation": label,
                "phase": "read" if label != "retract" else "retract",
                "reservoir_before": size,
                "seconds": time.perf_counter() - t0,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
        return out

    if v_before is None or v_after is None:
        raise RuntimeError("the reservoir has no version after the new commits")
    old, new = v_before, v_after
    st = timed("stats", lambda: reservoir.stats(root))
    df = timed("diff", lambda: reservoir.diff(root, old, new))
    lg = timed("log", lambda: reservoir.log(root))
    rt = timed("retract", lambda: reservoir.retract(root, "benchmark takedown", source=RETRACT_SOURCE, by="bench"))
    st2 = timed("stats (after retract)", lambda: reservoir.stats(root))
    ops[-5]["result"] = {"documents": st["documents"], "version": st["version"]}
    ops[-4]["result"] = {"from": v_before, "to": v_after, "added": df["added"], "retracted": df["retracted"]}
    ops[-3]["result"] = {"versions": len(lg)}
    ops[-2]["result"] = {"retracted": rt["retracted"], "version": rt["version"]}
    ops[-1]["result"] = {"documents": st2["documents"], "retracted": st2["retracted"]}
    disk = _disk_bytes(home)
    shutil.rmtree(home, ignore_errors=True)
    return {
        "import_seconds": imported - started,
        "ops": ops,
        "documents": st["documents"],
        "data_root_bytes": disk,
        "peak_rss_mb": peak_rss_mb(),
    }


def peer_commit(store: Path, run_id: str, docs: Any) -> int:
    """The peer: read every stored ``doc_id``, anti-join, append the new rows (the columns the reservoir adds
    included) as one Parquet file. Returns how many rows it inserted."""
    import datetime as dt

    import polars as pl

    files = sorted(store.glob("part-*.parquet"))
    if files:
        existing = pl.scan_parquet(files).select("doc_id").collect()
        docs = docs.join(existing, on="doc_id", how="anti")
    if docs.height == 0:
        return 0
    rows = docs.select(
        pl.exclude("run_id", "input", "position"),
        pl.col("text").str.len_chars().cast(pl.Int64).alias("n_chars"),
        pl.lit(run_id).alias("admitted_run"),
        pl.lit(dt.datetime.now(dt.UTC)).dt.replace_time_zone("UTC").alias("admitted_at"),
        pl.lit(False).alias("retracted"),
    )
    target = store / f"part-{len(files):05d}.parquet"
    partial = target.with_suffix(".partial")
    rows.write_parquet(partial, compression="snappy")  # deltalake's default codec
    partial.replace(target)
    return rows.height


def child_peer(batches: dict[str, Any], store: Path) -> dict[str, Any]:
    """The same batches through :func:`peer_commit`."""
    started = time.perf_counter()
    import polars  # noqa: F401  (import time reported apart, as for Wellspring)

    imported = time.perf_counter()
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    ops: list[dict[str, Any]] = []
    size = 0
    sequence = [(f"load {i + 1}/{len(batches['load'])}", p, "load") for i, p in enumerate(batches["load"])]
    sequence += [
        ("commit new (small)", batches["small"], "new"),
        ("commit new (large)", batches["large"], "new"),
        ("re-commit same (large)", batches["large"], "idempotent"),
    ]
    for i, (label, path, phase) in enumerate(sequence):
        frame, read_s = _read(path, f"peer-{i:02d}")
        t0 = time.perf_counter()
        inserted = peer_commit(store, f"peer-{i:02d}", frame)
        seconds = time.perf_counter() - t0
        ops.append(
            {
                "operation": label,
                "phase": phase,
                "reservoir_before": size,
                "batch": frame.height,
                "inserted": inserted,
                "seconds": seconds,
                "read_seconds": read_s,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
        size += inserted
    disk = _disk_bytes(store)
    shutil.rmtree(store, ignore_errors=True)
    return {"import_seconds": imported - started, "ops": ops, "data_root_bytes": disk, "peak_rss_mb": peak_rss_mb()}


# ---------------------------------------------------------------- report


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def _target(op: dict[str, Any], p: dict[str, Any]) -> tuple[str, str]:
    """The target of one operation and whether it was met (targets hold for the full-size run only)."""
    if op["operation"] == "commit new (large)":
        goal, limit = f"< {TARGET_COMMIT_S:.0f} s (100k into 1M)", TARGET_COMMIT_S
    elif op["operation"].startswith("stats"):
        goal, limit = f"< {TARGET_STATS_S:.0f} s", TARGET_STATS_S
    else:
        return "-", "-"
    if p["quick"]:
        return goal + " (full run)", "n/a (quick)"
    return goal, "**yes**" if op["seconds"] < limit else "**no**"


def render(result: dict[str, Any]) -> str:
    p = result["plan"]
    ours: list[dict[str, Any]] = result["wellspring"].get("ops", [])
    peer = {op["operation"]: op for op in result.get("peer", {}).get("ops", [])}
    rows = []
    for op in ours:
        goal, met = _target(op, p)
        batch = op.get("batch")
        docs_s = f"{op['batch'] / op['seconds']:,.0f}" if batch else "-"
        twin = peer.get(op["operation"])
        ratio = f"{op['seconds'] / twin['seconds']:.1f}x" if twin else "-"
        peer_s = _fmt_s(twin["seconds"]) if twin else "-"
        inserted = f"{op['inserted']:,}" if "inserted" in op else json.dumps(op.get("result", {}))
        rows.append(
            [
                op["operation"],
                f"{op['reservoir_before']:,}",
                f"{batch:,}" if batch else "-",
                inserted,
                _fmt_s(op["seconds"]),
                docs_s,
                f"{op['peak_rss_mb']:,.0f}",
                peer_s,
                ratio,
                goal,
                met,
            ]
        )
    header = ["operation", "reservoir size", "batch", "inserted / result", "seconds", "docs/s", "peak RSS MB so far"]
    header += ["peer s", "ours / peer", "target", "met?"]
    m = result["machine"]
    w, pr = result["wellspring_process"], result.get("peer_process")
    cmd = "python -m benchmarks.reservoir" + (" --quick" if p["quick"] else "")
    lines = [
        "# Reservoir benchmark",
        "",
        f"`{cmd}` on {m['cpus']} CPUs, Python {m['python']}, {m['date']}"
        + (" (quick mode: every size / 10)." if p["quick"] else "."),
        "",
        f"Load average (1/5/15 min) before: {result['load_before']}, after: {result['load_after']}. "
        "Other jobs shared this machine, so timings are upper bounds.",
        "",
        "Each contender is one fresh process. *seconds* is the call alone (reading the batch from Parquet is "
        "excluded). *docs/s* is batch size / seconds. *reservoir size* is the documents stored before the "
        "operation. The peer is a plain Parquet append with a polars anti-join on `doc_id` (no versions, "
        "no atomic commit, no concurrency control); *ours / peer* > 1 means Wellspring is slower.",
        "",
        table(header, rows),
        "",
        "Processes:",
        "",
        f"- Wellspring: peak RSS {w['peak_rss_mb']:,.0f} MiB, wall {w['wall_seconds']:.0f} s, CPU "
        f"{w['cpu_seconds']:.0f} s, data root {result['wellspring'].get('data_root_bytes', 0) / 1e6:,.0f} MB"
        + (f", exit {w['returncode']}" if w["returncode"] else ""),
    ]
    if pr:
        lines.append(
            f"- peer: peak RSS {pr['peak_rss_mb']:,.0f} MiB, wall {pr['wall_seconds']:.0f} s, CPU "
            f"{pr['cpu_seconds']:.0f} s, store {result['peer'].get('data_root_bytes', 0) / 1e6:,.0f} MB"
        )
    else:
        lines.append(f"- peer: {result.get('peer_skipped', 'not run')}")
    lines += ["", "Targets:", ""]
    for t in result["targets"]:
        lines.append(f"- {t['what']}: measured {t['measured']} -> **{t['verdict']}**")
    lines += ["", "Notes:", ""]
    lines += [f"- {n}" for n in result["notes"]]
    return "\n".join(lines)


def _summary_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    p = result["plan"]
    ops = {op["operation"]: op for op in result["wellspring"].get("ops", [])}
    peer = {op["operation"]: op for op in result.get("peer", {}).get("ops", [])}
    out = []
    for name, what, limit in (
        (
            "commit new (large)",
            f"commit {p['large_new']:,} new docs into {p['reservoir']:,} in < 30 s",
            TARGET_COMMIT_S,
        ),
        ("stats", f"stats at {p['reservoir']:,} in < 2 s", TARGET_STATS_S),
    ):
        if name not in ops:
            out.append({"what": what, "measured": None, "verdict": "not measured"})
            continue
        s = ops[name]["seconds"]
        verdict = "n/a (quick)" if p["quick"] else ("met" if s < limit else "missed")
        out.append({"what": what, "measured": f"{s:.2f} s", "seconds": s, "verdict": verdict})
    if "commit new (large)" in ops and "commit new (large)" in peer:
        ratio = ops["commit new (large)"]["seconds"] / peer["commit new (large)"]["seconds"]
        out.append(
            {
                "what": "peer ratio (our 100k commit s / Parquet anti-join append s)",
                "measured": f"{ratio:.1f}x",
                "ratio": ratio,
                "verdict": "reported",
            }
        )
    return out


def _profile_summary(path: Path) -> dict[str, Any]:
    """Where the profiled commit spent its time: the share of the total in the few calls that matter."""
    import pstats

    stats = pstats.Stats(str(path))
    total = stats.total_tt  # type: ignore[attr-defined]
    watched = {  # builtins are named like "<method 'merge_execute' of '...' objects>"
        "deltalake merge_execute": "'merge_execute'",
        "polars collect (the admitted-ids scan)": "'collect' of",
        "polars to_arrow": "'to_arrow' of",
    }
    shares = {}
    for label, name in watched.items():
        own = sum(v[2] for k, v in stats.stats.items() if name in k[2])  # type: ignore[attr-defined]
        shares[label] = own / total if total else 0.0
    return {"path": str(path), "total_seconds": total, "shares": shares}


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reservoir", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every size / 10 (a 100k reservoir); under a minute")
    parser.add_argument("--no-peer", action="store_true", help="skip the Parquet anti-join peer")
    parser.add_argument("--profile", action="store_true", help="cProfile the large commit (results/reservoir*.prof)")
    parser.add_argument("--child", choices=["prepare", "wellspring", "peer"], help=argparse.SUPPRESS)
    parser.add_argument("--batches", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child == "prepare":
        try:
            emit(prepare_batches(plan(args.quick)))
        except Skip as e:
            emit({"skip": str(e)})
        return 0
    if args.child:
        batches = json.loads(Path(args.batches).read_text())
        if args.child == "wellspring":
            emit(child_wellspring(batches, Path(args.home), Path(args.profile_to) if args.profile_to else None))
        else:
            emit(child_peer(batches, Path(args.home)))
        return 0

    p = plan(args.quick)
    print(
        f"preparing {p['reservoir'] + p['small_new'] + p['large_new']:,} documents (cached in benchmarks/.work)",
        flush=True,
    )
    # The batches are made in a child too: a child's ru_maxrss starts at its parent's RSS at fork time, so
    # this process must never hold the corpus.
    made = measure([sys.executable, "-m", "benchmarks.reservoir", "--child", "prepare", *(["--quick"] * args.quick)])
    if not made.ok:
        print(f"preparing the batches failed (exit {made.returncode}):\n{made.stderr_tail}", file=sys.stderr)
        return 1
    if "skip" in made.report:
        raise Skip(made.report["skip"])
    batches = made.report
    tag = ".quick" if args.quick else ""
    folder = WORK / "reservoir" / ("quick" if args.quick else "full")
    batch_file = folder / "batches.json"
    batch_file.write_text(json.dumps(batches))
    result: dict[str, Any] = {"plan": p, "corpus_docs": batches["corpus_docs"], "load_before": load_average()}
    child = [sys.executable, "-m", "benchmarks.reservoir", "--batches", str(batch_file)]
    timeout = 600 if args.quick else 3 * 3600

    print(f"wellspring: {p['reservoir']:,}-doc reservoir in {LOAD_BATCHES} commits, then new batches", flush=True)
    cmd = [*child, "--child", "wellspring", "--home", str(folder / "home")]
    profile = folder / "large_commit.prof"
    if args.profile:
        cmd += ["--profile-to", str(profile)]
    ours = measure(cmd, timeout=timeout)
    result["wellspring_process"] = ours.process()
    result["wellspring"] = ours.report
    if not ours.ok:
        print(f"wellspring child failed (exit {ours.returncode}):\n{ours.stderr_tail}", file=sys.stderr)
        result["wellspring_error"] = ours.stderr_tail
    if args.no_peer:
        result["peer_skipped"] = "skipped (--no-peer)"
    else:
        print("peer: Parquet append + polars anti-join, same batches", flush=True)
        theirs = measure([*child, "--child", "peer", "--home", str(folder / "peer")], timeout=timeout)
        result["peer_process"] = theirs.process()
        result["peer"] = theirs.report
        if not theirs.ok:
            print(f"peer child failed (exit {theirs.returncode}):\n{theirs.stderr_tail}", file=sys.stderr)
            result["peer_error"] = theirs.stderr_tail
    result["load_after"] = load_average()
    result["machine"] = machine()
    result["targets"] = _summary_targets(result)
    result["notes"] = [
        f"The corpus has {batches['corpus_docs']:,} distinct doc_ids; copy k >= 1 appends '\\n\\n(copy k)' to every "
        "text (a new doc_id per copy). Load batches are contiguous ranges of that sequence, so each holds every source.",
        "`commit` = `reservoir.commit`: a Delta merge on doc_id (insert when not matched) plus a scan for the doc_ids "
        "this run admitted. The peer does only the anti-join and the append.",
        f"`retract` marks every active document of source `{RETRACT_SOURCE}` (present in every batch) as one merge "
        "and appends the audit rows.",
        "`diff` compares the versions just before and after the large commit; `log` reads the whole Delta history.",
        "Peak RSS is the child's ru_maxrss; the parent never loads the corpus (a child's ru_maxrss starts at its "
        "parent's RSS at fork time, so a large parent would inflate it).",
        "Single runs on a shared 2-core machine (see the load average): expect noise of 10-30 % between repeats.",
    ]
    if args.profile and profile.is_file():
        result["profile"] = _profile_summary(profile)
        result["notes"].append(
            f"cProfile of the large commit ({profile.relative_to(REPO)}): "
            + ", ".join(f"{k} {v:.0%}" for k, v in result["profile"]["shares"].items())
            + " of its time."
        )
    json_path, md_path = write_results(f"reservoir{tag}", result, render(result))
    print(render(result))
    print(f"\nwrote {json_path.relative_to(REPO)} and {md_path.relative_to(REPO)}")
    return 0 if ours.ok and (args.no_peer or result.get("peer_process", {}).get("returncode") == 0) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Skip as e:
        print(f"reservoir benchmark skipped: {e}", file=sys.stderr)
        sys.exit(0)
