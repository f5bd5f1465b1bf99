"""The nightly flow at scale: the single-process path and Dask with 1 and 2 local workers.

``python -m benchmarks.scale [--quick] [--sizes 10000,100000]`` runs, each in a fresh process:

* ``single``: ``nightly_flow`` with no Dask (the default path);
* ``dask-1`` / ``dask-2``: ``nightly_flow(dask_address=...)`` on a ``LocalCluster`` of 1 or 2 worker
  processes (one thread each) that the child starts first; worker start-up is timed apart.

and reports documents per second (flow wall time), CPU seconds of the driver and of every worker,
peak RSS of the driver and of each worker (each worker reports its own ``ru_maxrss``), the scaling
ratio ``docs/s(2 workers) / docs/s(1 worker)``, and per-task costs from Dask's task stream (compute
seconds per task name, per shard and per document), from which the notes project the cluster for
10^9 documents.

**The documents.** ``human.parquet`` (117,754 documents) repeated: copy 0 is the corpus; in copy
``k >= 1`` every word whose hash (seeded with ``k``) is ``0 mod 4`` gets an ``x`` appended, so about a
quarter of the words change and a copy shares roughly 0.75^5 of its 5-word shingles with the
original (Jaccard about 0.1: a new document for near dedup and a new ``doc_id`` for exact dedup);
one row in 20 of each copy changes only the words whose hash is ``0 mod 64`` instead (Jaccard about
0.85: a near-duplicate the dedup stage must drop). Global row ``g`` is row ``g mod n`` of copy
``g div n``. The inbox is Parquet files of 10,000 documents (``text``, ``source``, ``url``,
``created_at``, ``license``) under ``benchmarks/.work/scale/``; shards are bounded at the largest file's
size, so a shard is one or two files (10,000-25,000 documents).

``--quick`` runs 3,000 documents in files of 1,000. Results: ``benchmarks/results/scale[.quick].{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from benchmarks.common import WORK, Skip, corpus_dir, emit, load_average, machine, measure, table, write_results

FILE_DOCS = 10_000
SHARD_FILES = 1
QUICK_FILE_DOCS = 1_000
QUICK_SIZES = [3_000]
DEFAULT_SIZES = [20_000, 100_000]
TARGET_DOCS = 1_000_000_000


def build_inbox(n: int, file_docs: int = FILE_DOCS) -> Path:
    """``n`` documents as Parquet files of ``file_docs`` rows (see the module docstring); cached."""
    import polars as pl

    folder = WORK / "scale" / f"inbox-{n}-{file_docs}"
    if folder.is_dir() and (folder / "done").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    corpus = (
        pl.read_parquet(corpus_dir() / "human.parquet")
        .select("text", "source", pl.col("origin").alias("url"), "created_at", "license")
        .unique("text", keep="first", maintain_order=True)
    )
    base = corpus.height
    for lo in range(0, n, file_docs):
        rows = pl.int_range(lo, min(n, lo + file_docs), eager=True, dtype=pl.Int64)
        frame = pl.DataFrame({"g": rows}).with_columns(
            (pl.col("g") // base).alias("copy"), (pl.col("g") % base).alias("row")
        )
        frame = frame.join(corpus.with_row_index("row").cast({"row": pl.Int64}), on="row", how="left")
        frame = frame.with_columns(perturbed(frame)).drop("g", "copy", "row")
        frame.write_parquet(folder / f"part-{lo // file_docs:06d}.parquet")
    (folder / "done").touch()
    return folder


def perturbed(frame: Any) -> Any:
    """The text of each row's copy: words changed by a hash seeded with the copy number."""
    import polars as pl

    light = (pl.col("g").hash(7) % 20) == 0
    modulus = pl.when(light).then(pl.lit(64)).otherwise(pl.lit(4))
    words = pl.col("text").str.split(" ")
    changed = (
        pl.struct(words.alias("w"), pl.col("copy"), modulus.alias("m"))
        .map_batches(_change_words, return_dtype=pl.String)
        .alias("text")
    )
    return pl.when(pl.col("copy") == 0).then(pl.col("text")).otherwise(changed)


def _change_words(structs: Any) -> Any:
    import polars as pl

    frame = structs.struct.unnest().with_row_index("i")
    exploded = frame.explode("w")
    hit = (pl.concat_str([pl.col("w"), pl.col("copy").cast(pl.String)]).hash(11) % pl.col("m").cast(pl.UInt64)) == 0
    rebuilt = (
        exploded.with_columns(pl.when(hit).then(pl.col("w") + "x").otherwise(pl.col("w")).alias("w"))
        .group_by("i", maintain_order=True)
        .agg(pl.col("w").str.join(" "))
    )
    return rebuilt["w"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class PeakByTask(WorkerPlugin):
    """A Dask worker plugin: which task raised the worker's peak RSS (``ru_maxrss``) and by how much.

    The peak is read when a task starts and when it ends; a task that ends with a higher peak is where the
    worker's memory high-water mark was set. Per task name: the highest peak reached inside such a task.
    """

    name = "wellspring-peak-by-task"

    def setup(self, worker: Any) -> None:
        self.started: dict[str, float] = {}
        self.peaks: dict[str, float] = {}

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish == "executing":
            self.started[str(key)] = _rss_mb()
        elif start == "executing":
            before, after = self.started.pop(str(key), 0.0), _rss_mb()
            if after > before:
                name = _task_name(str(key))
                self.peaks[name] = max(self.peaks.get(name, 0.0), after)


def _peaks(dask_worker: Any) -> dict[str, float]:
    return dict(dask_worker.plugins[PeakByTask.name].peaks)


def _task_name(key: str) -> str:
    return key.rsplit("-", 1)[0] if "-" in key else key


def child(args: argparse.Namespace) -> None:
    """One measured run (in its own process): the flow over ``args.inbox`` in ``args.mode``."""
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="scale-prefect-")
    os.environ["WELLSPRING_SHARD_BYTES"] = str(args.shard_bytes)
    os.environ["WELLSPRING_BAND_PARTITIONS"] = str(args.partitions)
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import nightly_flow

    home = Path(args.home)
    shutil.rmtree(home, ignore_errors=True)
    report: dict[str, Any] = {"mode": args.mode, "workers": args.workers}
    with prefect_test_harness(server_startup_timeout=300):
        if args.mode == "single":
            started, cpu = time.perf_counter(), _cpu_s()
            summary = nightly_flow(inbox=args.inbox, home=str(home))
            report["flow_seconds"] = time.perf_counter() - started
            report["driver_cpu_seconds"] = _cpu_s() - cpu
        else:
            from distributed import Client, LocalCluster, get_task_stream

            started = time.perf_counter()
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
            client.run(lambda: __import__("tasks.scale"))  # the workers' imports, outside the timed run
            client.register_plugin(PeakByTask())
            report["cluster_start_seconds"] = time.perf_counter() - started
            worker_cpu0 = client.run(_cpu_s)
            started, cpu = time.perf_counter(), _cpu_s()
            with get_task_stream(client) as stream:
                summary = nightly_flow(inbox=args.inbox, home=str(home), dask_address=cluster.scheduler_address)
            report["flow_seconds"] = time.perf_counter() - started
            report["driver_cpu_seconds"] = _cpu_s() - cpu
            worker_cpu = client.run(_cpu_s)
            report["worker_cpu_seconds"] = [worker_cpu[w] - worker_cpu0[w] for w in sorted(worker_cpu)]
            report["worker_peak_rss_mb"] = [v for _, v in sorted(client.run(_rss_mb).items())]
            report["worker_peak_by_task_mb"] = [v for _, v in sorted(client.run(_peaks).items())]
            report["tasks"] = _task_costs(stream.data)
            client.close()
            cluster.close()
    report["driver_peak_rss_mb"] = _rss_mb()
    report["ingested"] = summary["ingested"]
    report["admitted"] = summary["admitted"]
    report["dropped"] = summary["dropped"]
    emit(report)


def _task_costs(stream: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Compute seconds per Prefect task name: total, count, and the largest single task."""
    costs: dict[str, list[float]] = defaultdict(list)
    for entry in stream:
        seconds = sum(s["stop"] - s["start"] for s in entry.get("startstops", ()) if s.get("action") == "compute")
        name = _task_name(str(entry.get("key", "?")))
        costs[name].append(seconds)
    return {
        name: {"tasks": len(v), "seconds": round(sum(v), 3), "max_seconds": round(max(v), 3)}
        for name, v in sorted(costs.items())
    }


MODES = {"single": ("single", 0), "dask-1": ("dask", 1), "dask-2": ("dask", 2)}


def run(sizes: list[int], quick: bool, modes: list[str] | None = None) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for n in sizes:
        inbox = build_inbox(n, QUICK_FILE_DOCS if quick else FILE_DOCS)
        file_bytes = max(f.stat().st_size for f in inbox.glob("*.parquet"))
        for mode, workers in (MODES[m] for m in modes or MODES):
            home = WORK / "scale" / f"home-{n}-{mode}-{workers}"
            cmd = [sys.executable, "-m", "benchmarks.scale", "--child", "--inbox", str(inbox), "--home", str(home)]
            cmd += ["--mode", mode, "--workers", str(workers), "--shard-bytes", str(SHARD_FILES * file_bytes)]
            cmd += ["--partitions", str(max(2, 2 * workers))]
            before = load_average()
            measured = measure(cmd, timeout=3 * 3600)
            entry = {"documents": n, "mode": mode, "workers": workers, "measured": machine()["date"]}
            entry["load_before"] = before
            entry |= {"load_after": load_average(), "process": measured.process(), **measured.report}
            if not measured.ok:
                entry["error"] = measured.stderr_tail
            else:
                entry["docs_per_second"] = round(n / measured.report["flow_seconds"], 1)
            shutil.rmtree(home, ignore_errors=True)
            print(json.dumps({k: v for k, v in entry.items() if k != "tasks"}), file=sys.stderr)
            results.append(entry)
    return {"machine": machine(), "quick": quick, "sizes": sizes, "modes": modes, "runs": results}


def markdown(data: dict[str, Any]) -> str:
    rows = []
    for r in data["runs"]:
        label = "single process" if r["mode"] == "single" else f"Dask, {r['workers']} worker(s)"
        rows.append(
            [
                f"{r['documents']:,}",
                label,
                f"{r.get('flow_seconds', float('nan')):.1f}",
                r.get("docs_per_second", "failed"),
                f"{r.get('driver_cpu_seconds', 0):.1f} + {sum(r.get('worker_cpu_seconds', [])):.1f}",
                f"{r.get('driver_peak_rss_mb', 0):.0f}",
                ", ".join(f"{x:.0f}" for x in r.get("worker_peak_rss_mb", [])) or "-",
                r.get("admitted", "-"),
                f"{r['load_before'][0]} / {r['load_after'][0]}",
                r.get("measured", data["machine"]["date"])[:16].replace("T", " "),
            ]
        )
    out = ["# Nightly flow at scale: single process vs. Dask workers", ""]
    commands = ", ".join(f"`{c}`" for c in data.get("commands", [_command(data)]))
    out.append(f"Measured on {data['machine']['cpus']} CPUs shared with other jobs (each run's date and the load")
    out.append(f"average are next to it; compare CPU seconds, not wall). Commands: {commands}.")
    out.append("")
    out.append(
        table(
            [
                "documents",
                "execution",
                "flow wall s",
                "docs/s",
                "CPU s (driver + workers)",
                "driver peak RSS MB",
                "worker peak RSS MB",
                "admitted",
                "load 1-min before / after",
                "measured (UTC)",
            ],
            rows,
        )
    )
    out.append("")
    for n in data["sizes"]:
        by = {(r["mode"], r["workers"]): r for r in data["runs"] if r["documents"] == n}
        one, two, single = by.get(("dask", 1)), by.get(("dask", 2)), by.get(("single", 0))
        if one and two and "docs_per_second" in one and "docs_per_second" in two:
            out.append(
                f"- {n:,} documents: scaling ratio docs/s(2 workers) / docs/s(1 worker) = "
                f"{two['docs_per_second'] / one['docs_per_second']:.2f}"
                + (
                    f"; Dask 1 worker / single process = {one['docs_per_second'] / single['docs_per_second']:.2f}"
                    if single and "docs_per_second" in single
                    else ""
                )
            )
    out.append("")
    largest = max(
        (r for r in data["runs"] if r.get("tasks") and r["workers"] == 1), key=lambda r: r["documents"], default=None
    )
    if largest:
        out.append(f"## Per-task compute cost (Dask, 1 worker, {largest['documents']:,} documents)")
        out.append("")
        n = largest["documents"]
        rows = [
            [name, c["tasks"], c["seconds"], c["max_seconds"], f"{1e6 * c['seconds'] / n:.0f}"]
            for name, c in largest["tasks"].items()
        ]
        out.append(table(["task", "tasks", "compute wall s", "largest task wall s", "µs wall per document"], rows))
        out.append("")
        out.append("Task-stream times are wall seconds inside the worker (inflated by the machine's load); the")
        out.append("CPU seconds in the first table are what the projection uses.")
        out.append("")
        peaks = largest.get("worker_peak_by_task_mb")
        if peaks:
            out.append("Where the worker's memory high-water mark rose (peak RSS MB reached inside each task kind):")
            out.append("")
            names = sorted({name for worker in peaks for name in worker})
            out.append(
                table(["task", "worker peak RSS MB"], [[n, f"{max(w.get(n, 0) for w in peaks):.0f}"] for n in names])
            )
            out.append("")
        out.append(projection(largest))
    return "\n".join(out)


def projection(run: dict[str, Any]) -> str:
    """The 10^9-document projection from the measured per-document CPU costs (see the text it writes).

    CPU seconds, not the task stream's wall seconds: on a shared machine a task's wall time counts
    the time other jobs held the cores."""
    n = run["documents"]
    mapped = sum(run["worker_cpu_seconds"]) / n  # worker CPU seconds per document (all mapped tasks)
    serial = run["driver_cpu_seconds"] / n  # the flow process: orchestration and the run-wide stages
    worker_hours = TARGET_DOCS * mapped / 3600
    shard_docs = n // max(1, run["tasks"].get("ingest_shard", {}).get("tasks", 1))
    lines = [
        "## Projection to 10^9 documents",
        "",
        f"Measured at {n:,} documents (Dask, 1 worker): {1e6 * mapped:,.0f} µs of worker CPU per document in the",
        f"mapped tasks, {1e6 * serial:,.0f} µs of driver CPU per document (Prefect orchestration plus the run-wide",
        "stages: exact dedup, the component merge, admission, the reservoir commit and the summary).",
        f"10^9 documents are {worker_hours:,.0f} worker CPU-hours of mapped work, in {TARGET_DOCS // shard_docs:,} shards",
        f"of {shard_docs:,} documents as measured: {worker_hours / 100:,.1f} h on 100 single-core workers,",
        f"{worker_hours / 500:,.1f} h on 500. Per-worker memory is one shard's: the peak RSS above",
        "(most of it the imported libraries), independent of the run's size.",
        f"The run-wide stages as they stand would add about {TARGET_DOCS * serial / 3600:,.0f} CPU-hours in one",
        "process and, for the commit (all survivors' text in one frame), more memory than one machine has:",
        "they are the part to shard next (see the report).",
    ]
    return "\n".join(lines)


def merged(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` plus the runs of other sizes already in ``<name>.json``: a run of one large size (an hour
    at 10^6 documents) adds its rows instead of replacing the table. Every run keeps its own date."""
    from benchmarks.common import RESULTS

    path = RESULTS / f"{name}.json"
    if not path.exists():
        return data
    old = json.loads(path.read_text())
    fresh = {(r["documents"], r["mode"], r["workers"]) for r in data["runs"]}
    kept = [r for r in old.get("runs", []) if (r["documents"], r["mode"], r["workers"]) not in fresh]
    for r in kept:
        r.setdefault("measured", old["machine"]["date"])
    order = list(MODES.values())
    runs = sorted([*kept, *data["runs"]], key=lambda r: (r["documents"], order.index((r["mode"], r["workers"]))))
    sizes = sorted({*data["sizes"], *(r["documents"] for r in kept)})
    commands = [*old.get("commands", [_command(old)]), _command(data)] if kept else [_command(data)]
    return {**data, "sizes": sizes, "runs": runs, "commands": list(dict.fromkeys(commands))}


def _command(data: dict[str, Any]) -> str:
    return "python -m benchmarks.scale" + (
        " --quick" if data["quick"] else f" --sizes {','.join(map(str, data['sizes']))}"
    )


def rewrite(name: str) -> None:
    """Regenerate ``<name>.md`` from its JSON (after a change to the report's text)."""
    from benchmarks.common import RESULTS

    data = json.loads((RESULTS / f"{name}.json").read_text())
    write_results(name, data, markdown(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", help="comma-separated document counts")
    parser.add_argument("--modes", help=f"comma-separated, of {', '.join(MODES)} (default: all)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inbox")
    parser.add_argument("--home")
    parser.add_argument("--mode", default="single")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--shard-bytes", type=int, default=64 << 20)
    parser.add_argument("--partitions", type=int, default=2)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else QUICK_SIZES if args.quick else DEFAULT_SIZES
    try:
        modes = args.modes.split(",") if args.modes else None
        if unknown := sorted(set(modes or ()) - set(MODES)):
            parser.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
        data = run(sizes, args.quick, modes)
    except Skip as e:
        print(f"skipped: {e}", file=sys.stderr)
        return 0
    name = "scale.quick" if args.quick else "scale"
    data = merged(name, data)
    for path in write_results(name, data, markdown(data)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
