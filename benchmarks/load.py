"""Load: many small nightly runs back to back, and single nightly runs of growing size.

``python -m benchmarks.load [--quick] [--runs N] [--sizes 10000,100000]`` measures, each part in a
fresh child process (so its peak RSS is its own):

1. **Small runs back to back** on one data root, in ONE process calling the core reference
   ``tasks.core.pipeline.curate_inbox`` (so a leak would accumulate and show): ``--runs`` (100) runs
   of 1,000 documents each, per run the wall and CPU seconds, the RSS after the run (``VmRSS``), the
   files in the tables' ``_delta_log`` folders and the time to open the busiest tables. Twice: without
   log maintenance, and with ``tasks.core.maintenance.maintain`` after every run (checkpoint every 10
   versions, log retention 0 hours so that the bound shows within the benchmark; the nightly default
   keeps 30 days). Then a few more runs of 1,000 documents on the maintained root through the
   ``wellspring nightly`` CLI (Prefect included), each its own process.
2. **One nightly run per size** (``--sizes``, default 10k and 100k documents) on a fresh data root,
   stage by stage (the stages of ``curate_inbox``), with each stage's wall and CPU seconds, documents
   per second and peak RSS. 1M documents is not run by default (``--only sizes --sizes 1000000``,
   then ``--merge`` the part, adds it): the report extrapolates it from the per-stage costs of the two
   largest sizes below 1M, and sets the extrapolation beside the measurement when there is one.

The two parts run side by side (``--serial``: one after the other), each child its own process, so
each one's CPU seconds and peak RSS are its own; wall times include the other part's competition.

**Inputs.** Documents are rows of ``human.parquet`` (real human text) written as JSON Lines inboxes
(``text``, ``source``, ``url`` = the corpus origin, ``license``, ``created_at``, ``lang``, ``meta``):
small run ``k`` takes rows ``[k * 1000, (k + 1) * 1000)``; a size ``n`` takes the first ``n`` rows.
A size beyond the corpus (117,754 distinct documents) repeats the distinct documents with
``benchmarks.scale``'s seeded perturbation (a copy changes about a quarter of its words, so it is new
to both dedup stages; one row in 20 changes only a few words and is a near duplicate to drop).
Written once under ``benchmarks/.work/load/``. ``--quick``: 12 runs of 200 documents, sizes 2k and
10k, 1 CLI run. Results: ``benchmarks/results/load[.quick].{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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

FULL = {"runs": 100, "docs_per_run": 1000, "sizes": [10_000, 100_000], "cli_runs": 2}
QUICK = {"runs": 12, "docs_per_run": 200, "sizes": [2_000, 10_000], "cli_runs": 1}
CHECKPOINT_EVERY = 10
OPENED = ("reservoir", "decisions", "raw")  # the tables every run reads
GENERATOR = "load-bench-v1"  # bump when the inbox layout changes, so cached inboxes are rewritten
WELLSPRING = str(Path(sys.executable).parent / "wellspring")
CORPUS_DISTINCT = 117_754  # distinct texts in human.parquet (what a size beyond the corpus repeats)


# ---------------------------------------------------------------- inputs (written once, in a child)


def _write_inbox(frame: Any, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_ndjson(folder / "docs.jsonl")


def _write_copies(corpus: Any, n: int, folder: Path) -> None:
    """``n`` documents from the corpus's distinct texts repeated with ``benchmarks.scale``'s seeded
    perturbation (copy ``k >= 1`` changes about a quarter of the words, so it is new to both dedup
    stages, and one row in 20 only a few, a near duplicate): global row ``g`` is distinct row
    ``g mod base`` of copy ``g div base``. Written as JSON Lines files of ``FILE_DOCS`` rows."""
    import polars as pl

    from benchmarks.scale import FILE_DOCS, perturbed

    distinct = corpus.unique("text", keep="first", maintain_order=True).with_row_index("row")
    distinct = distinct.cast({"row": pl.Int64})
    base = distinct.height
    folder.mkdir(parents=True, exist_ok=True)
    for lo in range(0, n, FILE_DOCS):
        rows = pl.int_range(lo, min(n, lo + FILE_DOCS), eager=True, dtype=pl.Int64)
        frame = pl.DataFrame({"g": rows}).with_columns(
            (pl.col("g") // base).alias("copy"), (pl.col("g") % base).alias("row")
        )
        frame = frame.join(distinct, on="row", how="left")
        frame = frame.with_columns(perturbed(frame))
        frame.drop("g", "copy", "row").write_ndjson(folder / f"docs-{lo // FILE_DOCS:05d}.jsonl")


def prepare(p: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Write the small-run inboxes and one inbox per size; return their paths."""
    import polars as pl

    stamp = folder / "generator.json"
    wanted = {"generator": GENERATOR, **p}
    corpus = pl.read_parquet(corpus_dir() / "human.parquet").select(
        "text", "source", pl.col("origin").alias("url"), "license", "created_at", "lang", "meta"
    )
    if not stamp.exists() or json.loads(stamp.read_text()) != wanted:
        shutil.rmtree(folder, ignore_errors=True)
        n_small = p["runs"] + p["cli_runs"]
        for k in range(n_small):
            _write_inbox(corpus.slice(k * p["docs_per_run"], p["docs_per_run"]), folder / "small" / f"run-{k:03d}")
        for size in p["sizes"]:
            if size > corpus.height:
                _write_copies(corpus, size, folder / "size" / str(size))
            else:
                _write_inbox(corpus.head(size), folder / "size" / str(size))
        stamp.write_text(json.dumps(wanted))
    small = sorted(str(d) for d in (folder / "small").iterdir())
    return {
        "small": small[: p["runs"]],
        "cli": small[p["runs"] :],
        "sizes": {str(s): str(folder / "size" / str(s)) for s in p["sizes"]},
        "corpus_docs": corpus.height,
    }


# ---------------------------------------------------------------- children


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_small(inboxes: list[str], home: Path, maintain: bool) -> dict[str, Any]:
    """Every small run in this one process; per run: times, RSS, log files, table open times."""
    import gc

    from tasks.core import maintenance
    from tasks.core.pipeline import curate_inbox
    from tasks.core.storage import DataRoot

    shutil.rmtree(home, ignore_errors=True)
    root = DataRoot.at(home)
    rows = []
    for k, inbox in enumerate(inboxes):
        wall, cpu = time.perf_counter(), _cpu()
        summary = curate_inbox(root, Path(inbox))
        run_wall, run_cpu = time.perf_counter() - wall, _cpu() - cpu
        kept_wall = kept_cpu = 0.0
        if maintain:
            wall, cpu = time.perf_counter(), _cpu()
            maintenance.maintain(root, checkpoint_every=CHECKPOINT_EVERY, log_retention_hours=0)
            kept_wall, kept_cpu = time.perf_counter() - wall, _cpu() - cpu
        gc.collect()
        tables = maintenance.tables(root)
        rows.append(
            {
                "run": k,
                "wall_s": round(run_wall, 3),
                "cpu_s": round(run_cpu, 3),
                "maintenance_wall_s": round(kept_wall, 3),
                "maintenance_cpu_s": round(kept_cpu, 3),
                "admitted": summary["admitted"],
                "ingested": summary["ingested"],
                "rss_mb": round(_rss_mb(), 1),
                "log_files": sum(maintenance.log_file_count(Path(root.uri(t))) for t in tables),
                "open_ms": {t: round(maintenance.open_seconds(root, t) * 1000, 2) for t in OPENED if t in tables},
                "versions": {t: root.ref(t).version for t in OPENED if t in tables},
            }
        )
        print(
            f"run {k}: {run_wall:.2f} s, rss {rows[-1]['rss_mb']} MB, log files {rows[-1]['log_files']}",
            file=sys.stderr,
        )
    return {"runs": rows, "peak_rss_mb": round(peak_rss_mb(), 1)}


def child_size(inbox: str, home: Path) -> dict[str, Any]:
    """One nightly run of the inbox, stage by stage (the stages of curate_inbox), timed per stage."""
    from tasks.core.config import NightlyConfig
    from tasks.core.pipeline import new_run_id, run_summary
    from tasks.core.storage import DataRoot
    from tests.faults.driver import STAGES  # the stages of curate_inbox, in its order (a test guards it)

    shutil.rmtree(home, ignore_errors=True)
    root, cfg, run_id = DataRoot.at(home), NightlyConfig(), new_run_id()
    stages = []
    for name, stage in STAGES.items():
        wall, cpu = time.perf_counter(), _cpu()
        stage(root, run_id, cfg, Path(inbox))
        stages.append(
            {
                "stage": name,
                "wall_s": round(time.perf_counter() - wall, 3),
                "cpu_s": round(_cpu() - cpu, 3),
                "peak_rss_mb_so_far": round(peak_rss_mb(), 1),
            }
        )
    summary = run_summary(root, run_id)
    return {"stages": stages, "ingested": summary["ingested"], "admitted": summary["admitted"]}


# ---------------------------------------------------------------- analysis and report


def _decile(values: list[float], first: bool) -> float:
    n = max(1, len(values) // 10)
    return statistics.median(values[:n] if first else values[-n:])


def _slope(ys: list[float]) -> float:
    """Least-squares slope per run."""
    n = len(ys)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2, statistics.fmean(ys)
    return sum((i - mx) * (y - my) for i, y in enumerate(ys)) / sum((i - mx) ** 2 for i in range(n))


def summarize_small(report: dict[str, Any]) -> dict[str, Any]:
    runs = report["runs"]
    walls = [r["wall_s"] for r in runs]
    cpus = [r["cpu_s"] for r in runs]
    rss = [r["rss_mb"] for r in runs]
    settled = rss[len(rss) // 10 :]  # after the first decile: imports, models and caches are warm
    last = runs[-1]
    return {
        "runs": len(runs),
        "wall_first_decile_s": round(_decile(walls, True), 3),
        "wall_last_decile_s": round(_decile(walls, False), 3),
        "cpu_first_decile_s": round(_decile(cpus, True), 3),
        "cpu_last_decile_s": round(_decile(cpus, False), 3),
        "rss_first_mb": rss[0],
        "rss_after_first_decile_mb": settled[0],
        "rss_last_mb": rss[-1],
        "rss_slope_mb_per_run_after_first_decile": round(_slope(settled), 3),
        "log_files_last": last["log_files"],
        "log_files_max": max(r["log_files"] for r in runs),
        # table-open times are a few ms and noisy under load: the median of a decile of runs
        "open_ms_first": {t: round(_decile([r["open_ms"].get(t, 0) for r in runs], True), 2) for t in OPENED},
        "open_ms_last": {t: round(_decile([r["open_ms"].get(t, 0) for r in runs], False), 2) for t in OPENED},
        "maintenance_wall_mean_s": round(statistics.fmean(r["maintenance_wall_s"] for r in runs), 3),
        "admitted_total": sum(r["admitted"] for r in runs),
        "peak_rss_mb": report["peak_rss_mb"],
    }


def extrapolate(sizes: dict[str, Any], target: int) -> dict[str, Any]:
    """Each stage's CPU seconds at ``target`` documents from the two largest measured sizes, assuming
    cost = a + b * n^k per stage with k fitted between them (k clipped to [1, 2]). Sizes at or above
    ``target`` are left out, so a measured 1M run can be compared with its extrapolation."""
    measured = sorted(((int(s), r) for s, r in sizes.items() if r.get("stages") and int(s) < target))
    if len(measured) < 2:
        return {}
    (n1, r1), (n2, r2) = measured[-2], measured[-1]
    out: dict[str, Any] = {"from_sizes": [n1, n2], "target": target, "stages": {}}
    total = 0.0
    for s1, s2 in zip(r1["stages"], r2["stages"], strict=True):
        c1, c2 = max(s1["cpu_s"], 1e-3), max(s2["cpu_s"], 1e-3)
        k = min(2.0, max(1.0, math.log(c2 / c1) / math.log(n2 / n1))) if c2 > c1 else 1.0
        estimate = c2 * (target / n2) ** k
        out["stages"][s1["stage"]] = {"exponent": round(k, 2), "cpu_s": round(estimate, 1)}
        total += estimate
    out["cpu_s"] = round(total, 1)
    m1, m2 = r1["process"]["peak_rss_mb"], r2["process"]["peak_rss_mb"]
    out["peak_rss_mb_linear"] = round(m2 + (m2 - m1) * (target - n2) / (n2 - n1))
    return out


def render(result: dict[str, Any]) -> str:
    p = result["plan"]
    lines = [
        "# Load: many small nightly runs, and nightly runs of growing size",
        "",
        f"`{result['command']}` on {result['machine']['platform']}, {result['machine']['cpus']} CPUs, "
        f"{result['machine']['date']}. Load average before / after: {result['load_before']} / "
        f"{result.get('load_after')}. Wall times are inflated by other jobs on the machine; CPU seconds are "
        "the fairer figure.",
        *(
            f"Merged in from a separate run (`{m['command']}`, load before {m['load_before']})."
            for m in result.get("merged_parts", [])
        ),
        "",
        f"## {p['runs']} runs of {p['docs_per_run']:,} documents back to back, one process",
        "",
        "Each variant is one process calling `tasks.core.pipeline.curate_inbox` for every run on one data root "
        "(real documents from `human.parquet`). *With maintenance*: `tasks.core.maintenance.maintain(root, "
        f"checkpoint_every={CHECKPOINT_EVERY}, log_retention_hours=0)` after every run.",
        "",
    ]
    rows = []
    for label in ("without_maintenance", "with_maintenance"):
        s = result["small"].get(label, {}).get("summary")
        if not s:
            rows.append([label.replace("_", " "), "failed", "", "", "", "", "", ""])
            continue
        rows.append(
            [
                label.replace("_", " "),
                f"{s['wall_first_decile_s']:.2f} → {s['wall_last_decile_s']:.2f}",
                f"{s['cpu_first_decile_s']:.2f} → {s['cpu_last_decile_s']:.2f}",
                f"{s['rss_after_first_decile_mb']:.0f} → {s['rss_last_mb']:.0f} ({s['rss_slope_mb_per_run_after_first_decile']:+.2f}/run)",
                f"{s['log_files_last']:,} (max {s['log_files_max']:,})",
                " / ".join(f"{s['open_ms_first'].get(t, 0):.0f} → {s['open_ms_last'].get(t, 0):.0f}" for t in OPENED),
                f"{s['maintenance_wall_mean_s']:.2f}",
                f"{s['peak_rss_mb']:.0f}",
            ]
        )
    lines.append(
        table(
            [
                "variant",
                "wall s/run, first → last decile (median)",
                "CPU s/run, first → last decile",
                "RSS MB after run 10% → last (slope)",
                "_delta_log files, end",
                f"open ms {' / '.join(OPENED)}, first → last decile (median)",
                "maintenance s/run",
                "peak RSS MB",
            ],
            rows,
        )
    )
    lines += ["", *over_runs(result)]
    cli = result.get("cli", [])
    if cli:
        lines += [
            "",
            f"Then {len(cli)} more runs of {p['docs_per_run']:,} documents on the maintained data root through "
            "`wellspring nightly --json` (each a fresh process: Prefect's temporary server included):",
            "",
            table(
                ["run", "exit", "wall s", "CPU s", "peak RSS MB", "admitted"],
                [
                    [
                        i + 1,
                        c["returncode"],
                        f"{c['wall_seconds']:.1f}",
                        f"{c['cpu_seconds']:.1f}",
                        f"{c['peak_rss_mb']:.0f}",
                        c.get("admitted", ""),
                    ]
                    for i, c in enumerate(cli)
                ],
            ),
        ]
    lines += ["", "## One nightly run per size (fresh data root, default config)", ""]
    size_rows = []
    stage_names: list[str] = []
    for size, r in result["sizes"].items():
        if not r.get("stages"):
            size_rows.append([f"{int(size):,}", "failed", "", "", "", "", ""])
            continue
        stage_names = [s["stage"] for s in r["stages"]]
        wall = sum(s["wall_s"] for s in r["stages"])
        cpu = sum(s["cpu_s"] for s in r["stages"])
        size_rows.append(
            [
                f"{int(size):,}",
                f"{wall:.1f}",
                f"{cpu:.1f}",
                f"{int(size) / wall:,.0f}",
                f"{int(size) / cpu:,.0f}",
                f"{r['process']['peak_rss_mb']:.0f}",
                f"{r.get('ingested', 0):,} / {r.get('admitted', 0):,}",
            ]
        )
    header = ["documents", "wall s", "CPU s", "docs/s (wall)", "docs per CPU s", "peak RSS MB", "ingested / admitted"]
    lines.append(table(header, size_rows))
    if stage_names:
        for caption, key, fmt in (
            ("CPU seconds per stage", "cpu_s", ".2f"),
            ("Peak RSS (MB) of the process after each stage", "peak_rss_mb_so_far", ".0f"),
        ):
            lines += ["", f"{caption}:", ""]
            per = [
                [
                    name,
                    *(
                        format(next(x[key] for x in r["stages"] if x["stage"] == name), fmt) if r.get("stages") else ""
                        for r in result["sizes"].values()
                    ),
                ]
                for name in stage_names
            ]
            lines.append(table(["stage", *(f"{int(s):,}" for s in result["sizes"])], per))
    ex = result.get("extrapolation_1m")
    measured_1m = result["sizes"].get(str(1_000_000), {})
    if ex and measured_1m.get("stages"):
        cpu_1m = sum(s["cpu_s"] for s in measured_1m["stages"])
        lines += [
            "",
            f"**1M documents: measured** (the {CORPUS_DISTINCT:,} distinct corpus documents repeated with "
            "`benchmarks.scale`'s seeded perturbation: a copy changes about a quarter of its words, one row in 20 "
            f"only a few, a near duplicate): {cpu_1m:,.0f} CPU seconds in the stages, against "
            f"{ex['cpu_s']:,.0f} extrapolated from {ex['from_sizes'][0]:,} and {ex['from_sizes'][1]:,} documents "
            f"({cpu_1m / max(ex['cpu_s'], 1e-9):.2f}x); peak RSS {measured_1m['process']['peak_rss_mb']:,.0f} MB "
            f"against {ex.get('peak_rss_mb_linear', 0):,} MB extrapolated linearly. Per stage, measured / "
            "extrapolated CPU s: "
            + ", ".join(
                f"{s['stage']} {s['cpu_s']:,.0f} / {ex['stages'][s['stage']]['cpu_s']:,.0f}"
                for s in measured_1m["stages"]
                if s["stage"] in ex["stages"]
            )
            + ". The sizes' runs were not all measured at the same load (1-minute load average after each run: "
            + ", ".join(f"{int(n):,}: {r['load_after'][0]}" for n, r in result["sizes"].items() if r.get("load_after"))
            + "); a run on a quieter machine loses less CPU time to contention (shared caches, cores), so part of "
            "a gap between measured and extrapolated CPU seconds is the machine, not the pipeline.",
        ]
    elif ex:
        lines += [
            "",
            f"**1M documents: not run** ({result.get('one_million_note', 'the run did not finish')}). Extrapolated from {ex['from_sizes'][0]:,} and "
            f"{ex['from_sizes'][1]:,} documents, stage by stage (cost ∝ n^k, k fitted between the two sizes, "
            f"clipped to [1, 2]): about **{ex['cpu_s']:,.0f} CPU seconds** "
            f"({ex['cpu_s'] / 60:.0f} minutes on one free core); largest stages: "
            + ", ".join(
                f"{k} {v['cpu_s']:,.0f} s (k={v['exponent']})"
                for k, v in sorted(ex["stages"].items(), key=lambda kv: -kv[1]["cpu_s"])[:3]
            )
            + f". Peak RSS, extrapolated linearly: about {ex.get('peak_rss_mb_linear', 0):,} MB (the run's frames and "
            "the Delta writer's buffers grow with the batch), so a 1M batch would want to be split into several "
            "nightly runs on this machine.",
        ]
    lines += ["", "## Notes", "", *(f"- {n}" for n in result.get("notes", []))]
    return "\n".join(lines)


def over_runs(result: dict[str, Any]) -> list[str]:
    """Every tenth run of both variants side by side: times, RSS, log files, reservoir open time."""
    a = result["small"].get("without_maintenance", {}).get("runs") or []
    b = result["small"].get("with_maintenance", {}).get("runs") or []
    n = max(len(a), len(b))
    if not n:
        return []
    step = max(1, n // 10)
    picks = sorted({*range(0, n, step), n - 1})

    def cell(runs: list[dict[str, Any]], i: int, key: str, fmt: str) -> str:
        if i >= len(runs):
            return ""
        value = runs[i][key] if key != "open" else runs[i]["open_ms"].get("reservoir", 0)
        return format(value, fmt)

    rows = [
        [
            i + 1,
            cell(a, i, "wall_s", ".2f") + " / " + cell(b, i, "wall_s", ".2f"),
            cell(a, i, "cpu_s", ".2f") + " / " + cell(b, i, "cpu_s", ".2f"),
            cell(a, i, "rss_mb", ".0f") + " / " + cell(b, i, "rss_mb", ".0f"),
            cell(a, i, "log_files", ",") + " / " + cell(b, i, "log_files", ","),
            cell(a, i, "open", ".1f") + " / " + cell(b, i, "open", ".1f"),
        ]
        for i in picks
    ]
    header = ["run", "wall s", "CPU s", "RSS MB", "_delta_log files", "open reservoir ms"]
    return ["Over the runs (without / with maintenance):", "", table(header, rows)]


def notes(result: dict[str, Any]) -> list[str]:
    out = []
    small = result["small"]
    for label in ("without_maintenance", "with_maintenance"):
        s = small.get(label, {}).get("summary")
        if s:
            growth = s["wall_last_decile_s"] / max(s["wall_first_decile_s"], 1e-9)
            out.append(
                f"{label.replace('_', ' ')}: last-decile run time is {growth:.2f}x the first (CPU "
                f"{s['cpu_last_decile_s'] / max(s['cpu_first_decile_s'], 1e-9):.2f}x); RSS slope after the first decile "
                f"{s['rss_slope_mb_per_run_after_first_decile']:+.2f} MB/run over {s['runs']} runs."
            )
    a, b = small.get("without_maintenance", {}).get("summary"), small.get("with_maintenance", {}).get("summary")
    if a:
        out.append(
            f"The reservoir grows to {a['admitted_total']:,} documents over the runs, and each run loads what scales "
            "with it (reservoir ids for exact dedup, the signature index for near dedup, cluster counts), so a slow "
            "RSS rise is expected; a leak would show as growth that does not level off with a fixed-size reservoir, "
            "which this benchmark does not separate out. The slow runs every so often are diversity-model refits "
            "(the reservoir grew past `refresh_factor`)."
        )
    if a and b:
        out.append(
            f"Delta log files at the end: {a['log_files_last']:,} without maintenance, {b['log_files_last']:,} with it; "
            f"opening `reservoir` {a['open_ms_last'].get('reservoir', 0):.0f} ms vs {b['open_ms_last'].get('reservoir', 0):.0f} ms."
        )
    return out


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 runs of 200 docs, sizes 2k and 10k (a few minutes)")
    parser.add_argument("--runs", type=int, help="small runs per variant")
    parser.add_argument("--sizes", help="comma-separated document counts of the single runs")
    parser.add_argument("--serial", action="store_true", help="run the parts one after the other")
    parser.add_argument("--only", help="comma-separated parts to run: without, with, sizes (written apart)")
    parser.add_argument("--merge", nargs="+", metavar="PART", help="overlay --only parts on the results, rewrite")
    parser.add_argument("--child", choices=["prepare", "small", "size"], help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--maintain", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inbox", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    p: dict[str, Any] = dict(QUICK if args.quick else FULL)
    if args.runs:
        p["runs"] = args.runs
    if args.sizes:
        p["sizes"] = [int(s) for s in args.sizes.split(",")]
    # a part run (--only) has its own folder, so it never shares a data root with a whole run
    folder = (
        WORK / "load" / (("quick" if args.quick else "full") + (f"-{args.only.replace(',', '-')}" if args.only else ""))
    )

    if args.child == "prepare":
        try:
            emit(prepare(p, folder / "inputs"))
        except Skip as e:
            emit({"skip": str(e)})
        return 0
    if args.child == "small":
        emit(child_small(json.loads(Path(args.plan).read_text())["small"], Path(args.home), args.maintain))
        return 0
    if args.child == "size":
        emit(child_size(args.inbox, Path(args.home)))
        return 0

    if args.merge:
        return merge(args.merge, args.quick)
    argv_used = argv if argv is not None else sys.argv[1:]
    result: dict[str, Any] = {
        "plan": p,
        "command": " ".join(["python -m benchmarks.load", *argv_used]),
        "machine": machine(),
        "load_before": load_average(),
        "small": {},
        "sizes": {},
    }
    base = [
        sys.executable,
        "-m",
        "benchmarks.load",
        *(["--quick"] * args.quick),
        *(["--only", args.only] * bool(args.only)),
    ]
    base += [*(["--runs", str(args.runs)] if args.runs else []), *(["--sizes", args.sizes] if args.sizes else [])]
    print(f"preparing inboxes in {folder / 'inputs'}", flush=True)
    made = measure([*base, "--child", "prepare"])
    if not made.ok:
        print(f"preparing the inboxes failed (exit {made.returncode}):\n{made.stderr_tail}", file=sys.stderr)
        return 1
    if "skip" in made.report:
        raise Skip(made.report["skip"])
    inputs = made.report
    plan_file = folder / "plan.json"
    plan_file.write_text(json.dumps(inputs))
    env = {"DO_NOT_TRACK": "1"}

    def small_lane(label: str, maintain: bool) -> None:
        print(f"{p['runs']} small runs, {label.replace('_', ' ')}", flush=True)
        home = folder / f"small-{label}"
        cmd = [*base, "--child", "small", "--plan", str(plan_file), "--home", str(home)]
        ran = measure([*cmd, *(["--maintain"] * maintain)], env=env, timeout=3 * 3600)
        entry: dict[str, Any] = {"process": ran.process(), "load_after": load_average()}
        if ran.ok:
            entry["summary"] = summarize_small(ran.report)
            entry["runs"] = ran.report["runs"]
        else:
            entry["error"] = ran.stderr_tail
            print(f"small runs failed (exit {ran.returncode}):\n{ran.stderr_tail}", file=sys.stderr)
        result["small"][label] = entry
        if not maintain:
            return
        for inbox in inputs["cli"]:  # on the maintained root, after its in-process runs
            print(f"CLI run on {inbox}", flush=True)
            ran = measure(
                [WELLSPRING, "nightly", "--inbox", inbox, "--home", str(home), "--json"], env=env, timeout=1800
            )
            failed = "" if ran.ok else ran.stderr_tail
            result["cli"].append({**ran.process(), "admitted": ran.report.get("admitted"), "stderr_tail": failed})

    def size_lane() -> None:
        for size, inbox in inputs["sizes"].items():
            print(f"one nightly run of {int(size):,} documents", flush=True)
            cmd = [*base, "--child", "size", "--inbox", inbox, "--home", str(folder / f"size-{size}")]
            ran = measure(cmd, env=env, timeout=3 * 3600)
            result["sizes"][size] = {**ran.report, "process": ran.process(), "load_after": load_average()}
            if not ran.ok:
                result["sizes"][size]["error"] = ran.stderr_tail
                print(f"size {size} failed (exit {ran.returncode}):\n{ran.stderr_tail}", file=sys.stderr)

    # The parts run side by side (each child is its own process with its own peak RSS and CPU seconds):
    # on a shared, loaded machine one after the other would not fit in the time available.
    lanes = {
        "without": lambda: small_lane("without_maintenance", False),
        "with": lambda: small_lane("with_maintenance", True),
        "sizes": size_lane,
    }
    chosen = [n for n in (args.only.split(",") if args.only else lanes)]
    result["cli"] = []
    result["parts_ran_concurrently"] = not args.serial and len(chosen) > 1
    with ThreadPoolExecutor(max_workers=1 if args.serial else len(chosen)) as pool:
        for done in [pool.submit(lanes[n]) for n in chosen]:
            done.result()
    if args.only:  # one part of a run: kept apart, to be merged into the results with --merge
        part = folder / f"part-{'-'.join(chosen)}.json"
        part.write_text(json.dumps(result, indent=1, default=str))
        print(f"wrote {part}; merge it with: python -m benchmarks.load{' --quick' * args.quick} --merge {part}")
        return 0
    return finish(result, args.quick)


def merge(parts: list[str], quick: bool) -> int:
    """Overlay measured parts (``--only`` runs) on the results file and write it again."""
    tag = ".quick" if quick else ""
    path = REPO / "benchmarks" / "results" / f"load{tag}.json"
    result: dict[str, Any] = json.loads(path.read_text())
    p = result["plan"]
    for part_path in parts:
        part = json.loads(Path(part_path).read_text())
        result["small"].update(part.get("small", {}))
        result["sizes"].update(part.get("sizes", {}))
        p["sizes"] = sorted({*p["sizes"], *(int(s) for s in part.get("sizes", {}))})
        if part.get("cli"):
            result["cli"] = part["cli"]
        result.setdefault("merged_parts", []).append({"command": part["command"], "load_before": part["load_before"]})
    return finish(result, quick)


def finish(result: dict[str, Any], quick: bool) -> int:
    """Extrapolate, annotate and write the results."""
    p = result["plan"]
    for entry in result["small"].values():  # recomputed, so merged parts are summarised alike
        if entry.get("runs"):
            entry["summary"] = summarize_small({"runs": entry["runs"], "peak_rss_mb": entry["summary"]["peak_rss_mb"]})
    if 1_000_000 not in p["sizes"]:
        result["one_million_note"] = (
            "the corpus holds 117,754 distinct documents, and a 1M run would take well over the ~15 minutes this "
            "shared, loaded machine allows"
        )
    else:
        result.pop("one_million_note", None)
    result["extrapolation_1m"] = extrapolate(result["sizes"], 1_000_000)
    result["load_after"] = load_average()
    result["notes"] = notes(result)
    tag = ".quick" if quick else ""
    json_path, md_path = write_results(f"load{tag}", result, render(result))
    print(f"wrote {json_path.relative_to(REPO)} and {md_path.relative_to(REPO)}")
    ok = all("summary" in v for v in result["small"].values()) and all("stages" in v for v in result["sizes"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("DO_NOT_TRACK", "1")
    sys.exit(main())
