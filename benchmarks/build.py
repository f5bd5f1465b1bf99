"""Dataset build at 1M reservoir documents, against a uniform polars sample writing the same shards.

``python -m benchmarks.build [--quick] [--no-peer] [--no-bare] [--before REV] [--clusters model|hash] [--work DIR]``
draws a 100k-document build (``tasks.core.build.assemble.build_dataset`` with ``BuildConfig(size=100_000,
seed=0)``) from a 1M-document reservoir, each contender in a fresh process (so its peak RSS is its own):

* **ours**: ``build_dataset`` as the ``wellspring build`` task calls it (with its default diversity metrics
  of the build and of the reservoir in the manifest), its phases timed by wrapping the functions it calls:
  reading the candidates (with the word buckets rarity needs), rarity, the other sampling weights, sampling,
  reading the chosen texts back, writing the shards, the manifest counts, the diversity metrics, the card and
  Croissant file, and recording the build;
* **ours again**: the same build with the same seed into another folder; its shards must be byte-identical
  (the sha256 of every shard is compared);
* **ours, no metrics**: the same build with ``metrics=`` a function measuring nothing: what the metrics cost;
* **before** (``--before REV``): the same default build by the code of git revision ``REV`` (a ``git archive``
  of it, extracted under ``--work``, run with the same interpreter), so a change is measured against its
  predecessor in the same run; its shards should equal ours (same rules, same seed);
* **peer**: read the same reservoir version with ``pl.scan_delta``, ``DataFrame.sample(n, seed=0)``, then
  the same ``write_shards`` (zstd-9 Parquet, sha256 per shard).

**The reservoir.** The 1M documents are ``benchmarks/reservoir.py`` 's load batches (``human.parquet``
repeated, copy ``k >= 1`` with ``"(copy k)"`` appended, so every row has its own ``doc_id``), read from its
cache ``benchmarks/.work/reservoir/`` (made there first if absent) and loaded with
``tasks.core.reservoir.commit`` in 10 batches of 100k into a data root under ``--work``
(default ``benchmarks/.work/build/``), once; later runs reuse it. Before loading, every row gets

* ``cluster_id``, ``novelty``, ``cluster_share``: with ``--clusters model`` (default), from
  ``tasks.core.diversity.fit_and_assign`` (default ``DiversityConfig``) on the distinct corpus texts (copy 0),
  given to every copy of the same text: a copy differs from its original only by its suffix, and this is what
  a de-duplicated reservoir would hold; with ``--clusters hash``, a cheap deterministic stand-in (64 clusters
  from a hash of the corpus position, novelty uniform from another hash);
* ``p_human``: a stand-in, ``0.5 + 0.5 * u`` with ``u`` uniform from the first 8 hex digits of ``doc_id``
  (no provenance model is run).

``--quick`` divides both sizes by 10 (a 10k build from a 100k reservoir). Results:
``benchmarks/results/build[.quick].{json,md}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, WORK, Skip, emit, load_average, machine, measure, peak_rss_mb, table, write_results

FULL_RESERVOIR = 1_000_000
FULL_BUILD = 100_000
QUICK_SCALE = 10
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 2048.0
SEED = 0
STAND_IN_CLUSTERS = 64
SETUP = "build-bench-v1"  # bump when the reservoir set-up changes, so the cached data root is rebuilt
COPY0 = "human.parquet#copy0"
PHASES = ["candidates", "weights", "rarity", "sampling", "texts", "shards", "manifest", "card", "metrics", "record"]


def plan(quick: bool, clusters: str) -> dict[str, Any]:
    scale = QUICK_SCALE if quick else 1
    return {
        "quick": quick,
        "reservoir": FULL_RESERVOIR // scale,
        "build": FULL_BUILD // scale,
        "seed": SEED,
        "clusters": clusters,
    }


# ---------------------------------------------------------------- set-up (a child; cached)


def _assignments(copy0: Any, clusters: str) -> Any:
    """``position -> cluster_id, novelty, cluster_share`` for every distinct corpus text (copy 0)."""
    import polars as pl

    if clusters == "hash":
        ids = (pl.col("position").hash(seed=1) % STAND_IN_CLUSTERS).cast(pl.Int32)
        out = copy0.select(
            "position",
            ids.alias("cluster_id"),
            ((pl.col("position").hash(seed=2) // (1 << 11)).cast(pl.Float64) / float(1 << 53)).alias("novelty"),
        )
        return out.with_columns((pl.len().over("cluster_id") / pl.len()).alias("cluster_share"))
    from tasks.core.diversity import DiversityConfig, fit_and_assign

    _, assigned = fit_and_assign(copy0.select("doc_id", "text"), DiversityConfig())
    return copy0.select("doc_id", "position").join(assigned, on="doc_id").drop("doc_id", "centroid_distance")


def prepare(p: dict[str, Any], work: Path) -> dict[str, Any]:
    """The loaded data root for this plan (made once): ``{"home", "version", "documents", ...}``."""
    import polars as pl

    from benchmarks import reservoir as reservoir_bench

    folder = work / ("quick" if p["quick"] else "full")
    home = folder / "home"
    marker = folder / "setup.json"
    wanted = {**p, "setup": SETUP}
    if marker.is_file() and json.loads(marker.read_text()).get("wanted") == wanted and home.is_dir():
        return json.loads(marker.read_text())
    from tasks.core import reservoir
    from tasks.core.storage import DataRoot

    batches = reservoir_bench.prepare_batches(reservoir_bench.plan(p["quick"]))["load"]
    if sum(pl.scan_parquet(b).select(pl.len()).collect().item() for b in batches) != p["reservoir"]:
        raise RuntimeError("benchmarks/reservoir.py's load batches no longer add up to the planned reservoir")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"loading a {p['reservoir']:,}-document reservoir into {home} (once)", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    copy0 = pl.scan_parquet(batches).filter(pl.col("input") == COPY0).select("doc_id", "text", "position").collect()
    scores = _assignments(copy0, p["clusters"])
    del copy0
    assign_s = time.perf_counter() - t0
    root = DataRoot.at(home)
    u = pl.col("doc_id").str.slice(0, 8).str.to_integer(base=16).cast(pl.Float64) / float(1 << 32)
    t1 = time.perf_counter()
    version = None
    for i, path in enumerate(batches):
        frame = (
            pl.read_parquet(path).join(scores, on="position", how="left").with_columns((0.5 + 0.5 * u).alias("p_human"))
        )
        if frame["cluster_id"].null_count():
            raise RuntimeError(f"{path}: rows without a cluster (position beyond copy 0)")
        ref, _ = reservoir.commit(root, f"build-bench-load-{i:02d}", frame, {"bench": "build"})
        version = ref.version
    info = {
        "wanted": wanted,
        "home": str(home),
        "version": version,
        "documents": reservoir.stats(root)["documents"],
        "distinct_texts": scores.height,
        "clusters": int(scores["cluster_id"].n_unique()),
        "assign_seconds": assign_s,
        "load_seconds": time.perf_counter() - t1,
        "peak_rss_mb": peak_rss_mb(),
    }
    marker.write_text(json.dumps(info, indent=2))
    return info


# ---------------------------------------------------------------- children (one process per contender)


class Phases:
    """Wall and CPU seconds (``time.process_time``: every thread of the process) spent in wrapped
    functions, accumulated per phase (a wrapped call inside another is counted in both;
    :func:`child_ours` subtracts). CPU seconds stay meaningful on a loaded machine, wall seconds do not."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys([*PHASES, "shuffle"], 0.0)
        self.cpu: dict[str, float] = dict.fromkeys([*PHASES, "shuffle"], 0.0)

    def wrap(self, module: Any, attr: str, phase: str) -> None:
        inner = getattr(module, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.timing(phase):
                return inner(*args, **kwargs)

        setattr(module, attr, timed)

    @contextlib.contextmanager
    def timing(self, phase: str) -> Iterator[None]:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - t0
            self.cpu[phase] += time.process_time() - c0

    def split(self, total: float, which: str) -> dict[str, float]:
        """Per-phase seconds (``which``: ``seconds`` or ``cpu``), nested calls subtracted, ``other`` the rest."""
        s = self.seconds if which == "seconds" else self.cpu
        # nested: rarity inside weights inside weighted_sample; the final shuffle's keys belong to sampling
        out = {
            "candidates": s["candidates"],
            "weights (excl. rarity)": s["weights"] - s["rarity"],
            "rarity": s["rarity"],
            "sampling": s["sampling"] - s["weights"] + s["shuffle"],
            "texts": s["texts"],
            "shards": s["shards"],
            "manifest": s["manifest"],
            "card + croissant": s["card"],
            "metrics": s["metrics"],
            "record": s["record"],
        }
        out["other"] = total - sum(out.values())
        return out


def child_ours(home: Path, out: Path, size: int, with_metrics: bool) -> dict[str, Any]:
    started = time.perf_counter()
    from tasks.core.build import assemble, sampling
    from tasks.core.config import BuildConfig
    from tasks.core.storage import DataRoot

    imported = time.perf_counter()
    phases = Phases()
    phases.wrap(assemble, "reservoir_candidates", "candidates")
    phases.wrap(assemble, "weighted_sample", "sampling")
    phases.wrap(sampling, "weights", "weights")
    phases.wrap(sampling, "rarity_from_buckets", "rarity")
    phases.wrap(assemble, "uniform_keys", "shuffle")
    phases.wrap(assemble, "reservoir_texts", "texts")
    phases.wrap(assemble, "write_shards", "shards")
    phases.wrap(assemble, "_manifest", "manifest")
    phases.wrap(assemble, "dataset_card", "card")
    phases.wrap(assemble, "croissant", "card")
    phases.wrap(assemble, "record", "record")
    default_metrics = assemble.diversity_metrics

    def timed_metrics(root: Any) -> Any:
        with phases.timing("metrics"):  # its first call imports tasks.core.diversity (sklearn, skops, ...)
            inner = default_metrics(root)

        def measure(frame: Any) -> dict[str, float]:
            with phases.timing("metrics"):
                return inner(frame)

        return measure

    assemble.diversity_metrics = timed_metrics

    def measure_nothing(frame: Any) -> dict[str, float]:
        return {}

    metrics = None if with_metrics else measure_nothing

    shutil.rmtree(out, ignore_errors=True)
    t0, c0 = time.perf_counter(), time.process_time()
    manifest = assemble.build_dataset(DataRoot.at(home), "bench", BuildConfig(size=size, seed=SEED), out, None, metrics)
    total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "import_seconds": imported - started,
        "build_seconds": total,
        "build_cpu_seconds": total_cpu,
        "phases": phases.split(total, "seconds"),
        "cpu_phases": phases.split(total_cpu, "cpu"),
        "documents": manifest["counts"]["documents"],
        "human_share": manifest["counts"]["human_share"],
        "clusters_in_build": len(manifest["counts"]["by_cluster"]),
        "sources_in_build": len(manifest["counts"]["by_source"]),
        "reservoir_version": manifest["reservoir_version"],
        "shards": [
            {"file": x["file"], "rows": x["rows"], "sha256": x["sha256"], "bytes": x["bytes"]}
            for x in manifest["shards"]
        ],
        "diversity": manifest.get("diversity"),
        "diversity_sample": manifest.get("diversity_sample"),
        "peak_rss_mb": peak_rss_mb(),
    }


def before_tree(rev: str, work: Path) -> Path:
    """The source tree of git revision ``rev`` (a ``git archive``), extracted once under ``work``."""
    import subprocess
    import tarfile

    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"], capture_output=True, text=True
    )
    if sha.returncode:
        raise Skip(f"--before {rev}: not a commit of {REPO} ({sha.stderr.strip()})")
    tree = work / f"before-{sha.stdout.strip()[:12]}"
    if not (tree / "benchmarks" / "build.py").is_file():
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", sha.stdout.strip()], capture_output=True, check=True
        )
        tree.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=__import__("io").BytesIO(archive.stdout)) as tar:
            tar.extractall(tree, filter="data")
    return tree


def child_peer(home: Path, version: int, out: Path, size: int) -> dict[str, Any]:
    started = time.perf_counter()
    import polars as pl

    from tasks.core.build.outputs import SHARD_COLUMNS, write_shards
    from tasks.core.config import BuildConfig

    imported = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    scan = pl.scan_delta(str(home / "reservoir"), version=version)
    columns = [c for c in SHARD_COLUMNS if c in scan.collect_schema().names()]
    frame = (
        scan.filter(~pl.col("retracted").fill_null(False) & pl.col("text").is_not_null())
        .select(columns)
        .collect()
        .with_columns(pl.lit("reservoir").alias("origin"))
    )
    t1 = time.perf_counter()
    chosen = frame.sample(n=size, seed=SEED)
    t2 = time.perf_counter()
    shards = write_shards(chosen, out, BuildConfig(size=size).shard_rows)
    t3 = time.perf_counter()
    return {
        "import_seconds": imported - started,
        "build_seconds": t3 - t0,
        "phases": {"candidates": t1 - t0, "sampling": t2 - t1, "shards": t3 - t2},
        "documents": chosen.height,
        "shards": shards,
        "peak_rss_mb": peak_rss_mb(),
    }


# ---------------------------------------------------------------- report


def _s(x: float | None) -> str:
    return "-" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def render(result: dict[str, Any]) -> str:
    p = result["plan"]
    m = result["machine"]
    runs = result["runs"]
    lines = [
        "# Build benchmark",
        "",
        f"`{result['command']}` on {m['cpus']} CPUs, Python {m['python']}, {m['date']}"
        + (" (quick mode: sizes / 10)." if p["quick"] else "."),
        "",
        f"A {p['build']:,}-document build (`BuildConfig(size={p['build']:,}, seed={p['seed']})`) from a "
        f"{result['setup']['documents']:,}-document reservoir (version {result['setup']['version']}, "
        f"{result['setup']['clusters']} clusters, `--clusters {p['clusters']}`). Load average (1/5/15 min) "
        f"before: {result['load_before']}, after: {result['load_after']}; other jobs shared the machine, so "
        "timings are upper bounds.",
        "",
        "Each row is one fresh process (`ru_maxrss` of a child of a parent that never holds the data). *build s* "
        "is the `build_dataset` call (or the peer's read + sample + write) alone; *process wall s* adds "
        "interpreter start-up and imports.",
        "",
    ]
    header = ["run", "build s", "process wall s", "CPU s", "peak RSS MiB", "documents", "ours / peer (build s)"]
    peer_s = runs.get("peer", {}).get("report", {}).get("build_seconds")
    rows = []
    for name, run in runs.items():
        rep, proc = run.get("report", {}), run["process"]
        ratio = (
            f"{rep['build_seconds'] / peer_s:.1f}x" if peer_s and rep.get("build_seconds") and name != "peer" else "-"
        )
        rows.append(
            [
                name,
                _s(rep.get("build_seconds")),
                _s(proc["wall_seconds"]),
                _s(proc["cpu_seconds"]),
                f"{proc['peak_rss_mb']:,.0f}",
                f"{rep.get('documents', 0):,}",
                ratio,
            ]
        )
    lines += [table(header, rows)]
    for title, field in (
        ("Time split (wall seconds)", "phases"),
        ("CPU split (CPU seconds, all threads)", "cpu_phases"),
    ):
        names = [n for n in runs if runs[n].get("report", {}).get(field)]
        if not names:
            continue
        keys: list[str] = []
        for n in names:
            keys += [k for k in runs[n]["report"][field] if k not in keys]
        split_rows = [[k, *(_s(runs[n]["report"][field].get(k)) for n in names)] for k in keys]
        lines += ["", f"{title}:", "", table(["phase", *names], split_rows)]
    lines += ["", "Targets:", ""]
    lines += [f"- {t['what']}: measured {t['measured']} -> **{t['verdict']}**" for t in result["targets"]]
    lines += ["", "Notes:", ""]
    lines += [f"- {n}" for n in result["notes"]]
    return "\n".join(lines)


def _targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    p, runs = result["plan"], result["runs"]
    out: list[dict[str, Any]] = []
    ours = runs.get("ours", {})
    if not ours.get("report"):
        return [{"what": "the build", "measured": None, "verdict": "failed"}]
    wall, rss = ours["process"]["wall_seconds"], ours["process"]["peak_rss_mb"]
    quick = p["quick"]
    for what, value, limit, unit in (
        (f"{p['build']:,}-doc build from {p['reservoir']:,} in < 60 s (process wall)", wall, TARGET_SECONDS, "s"),
        (f"peak RSS < {TARGET_RSS_MB:,.0f} MiB", rss, TARGET_RSS_MB, "MiB"),
    ):
        verdict = "n/a (quick)" if quick else ("met" if value < limit else "missed")
        out.append({"what": what, "measured": f"{value:,.1f} {unit}", "value": value, "verdict": verdict})
    cpu = ours["process"]["cpu_seconds"]
    out.append(
        {
            "what": "the same in CPU seconds, < 60 s (what the wall target measures on idle CPUs; a load average "
            "above 2 on 2 cores stretches wall time)",
            "measured": f"{cpu:,.1f} s",
            "value": cpu,
            "verdict": "n/a (quick)" if quick else ("met" if cpu < TARGET_SECONDS else "missed"),
        }
    )
    again = runs.get("ours again", {}).get("report", {})
    if again:
        same = [s["sha256"] for s in ours["report"]["shards"]] == [s["sha256"] for s in again["shards"]]
        out.append(
            {
                "what": "same seed twice gives byte-identical shards (sha256 of every shard)",
                "measured": f"{len(again['shards'])} shards {'identical' if same else 'DIFFER'}",
                "identical": same,
                "verdict": "met" if same else "missed",
            }
        )
    before = runs.get("before", {}).get("report", {})
    if before:
        same = [s["sha256"] for s in ours["report"]["shards"]] == [s["sha256"] for s in before["shards"]]
        out.append(
            {
                "what": f"same shards as the code of {result.get('before')} (same rules, same seed)",
                "measured": f"{len(before['shards'])} shards {'identical' if same else 'DIFFER'}",
                "identical": same,
                "verdict": "met" if same else "missed",
            }
        )
        for what, key in (
            ("process wall s", "wall_seconds"),
            ("process CPU s", "cpu_seconds"),
            ("peak RSS MiB", "peak_rss_mb"),
        ):
            was, now = runs["before"]["process"][key], ours["process"][key]
            out.append(
                {
                    "what": f"{what}: before -> ours",
                    "measured": f"{was:,.1f} -> {now:,.1f} ({now / was:.2f}x)",
                    "verdict": "reported",
                }
            )
    peer = runs.get("peer", {}).get("report", {})
    if peer:
        ratio = ours["report"]["build_seconds"] / peer["build_seconds"]
        out.append(
            {"what": "ours / peer (build s)", "measured": f"{ratio:.1f}x", "ratio": ratio, "verdict": "reported"}
        )
    return out


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.build", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes / 10: a 10k build from a 100k reservoir")
    parser.add_argument("--no-peer", action="store_true", help="skip the polars uniform-sample peer")
    parser.add_argument("--no-bare", action="store_true", help="skip the build without diversity metrics")
    parser.add_argument("--before", metavar="REV", help="also run the build of git revision REV (e.g. HEAD~3)")
    parser.add_argument(
        "--clusters", choices=["model", "hash"], default="model", help="cluster ids from the diversity model or a hash"
    )
    parser.add_argument("--work", type=Path, default=WORK / "build", help="where the data root and builds go")
    parser.add_argument("--child", choices=["prepare", "ours", "peer"], help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--version", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    p = plan(args.quick, args.clusters)
    work = args.work.resolve()

    if args.child == "prepare":
        try:
            emit(prepare(p, work))
        except Skip as e:
            emit({"skip": str(e)})
        return 0
    if args.child == "ours":
        emit(child_ours(args.home, args.out, p["build"], not args.bare))
        return 0
    if args.child == "peer":
        emit(child_peer(args.home, args.version, args.out, p["build"]))
        return 0

    command = "python -m benchmarks.build" + " ".join(["", *(argv if argv is not None else sys.argv[1:])]).rstrip()
    print(f"preparing the {p['reservoir']:,}-document reservoir (cached under {work})", flush=True)
    # the set-up runs in a child too: a child's ru_maxrss starts at its parent's RSS at fork time
    base = [sys.executable, "-m", "benchmarks.build", *(["--quick"] * args.quick), "--clusters", args.clusters]
    base += ["--work", str(work)]
    made = measure([*base, "--child", "prepare"], timeout=3 * 3600)
    if not made.ok:
        print(f"preparing the reservoir failed (exit {made.returncode}):\n{made.stderr_tail}", file=sys.stderr)
        return 1
    if "skip" in made.report:
        raise Skip(made.report["skip"])
    setup = made.report
    home = Path(setup["home"])
    folder = home.parent
    result: dict[str, Any] = {"command": command, "plan": p, "setup": setup, "load_before": load_average(), "runs": {}}
    timeout = 600 if args.quick else 3600
    result["before"] = args.before
    contenders = [("ours", [*base, "--child", "ours", "--out", str(folder / "out-1")])]
    contenders.append(("ours again", [*base, "--child", "ours", "--out", str(folder / "out-2")]))
    if not args.no_bare:
        contenders.append(("ours, no metrics", [*base, "--child", "ours", "--bare", "--out", str(folder / "out-3")]))
    if args.before:
        tree = before_tree(args.before, work)
        # run in the old tree (cwd first on sys.path); exec keeps the measured child the Python process
        old = ["sh", "-c", 'cd "$0" && exec "$@"', str(tree), *base, "--child", "ours"]
        contenders.append(("before", [*old, "--out", str(folder / "out-before")]))
    if not args.no_peer:
        peer = ["--child", "peer", "--out", str(folder / "out-peer"), "--version", str(setup["version"])]
        contenders.append(("peer", [*base, *peer]))
    ok = True
    for name, extra in contenders:
        print(f"{name}: {p['build']:,} of {setup['documents']:,}", flush=True)
        run = measure([*extra, "--home", str(home)], timeout=timeout)
        result["runs"][name] = {"process": run.process(), "report": run.report}
        if not run.ok:
            ok = False
            print(f"{name} failed (exit {run.returncode}):\n{run.stderr_tail}", file=sys.stderr)
            result["runs"][name]["error"] = run.stderr_tail
    result["load_after"] = load_average()
    result["machine"] = machine()
    result["targets"] = _targets(result)
    copies = "repeated with a '(copy k)' suffix" if not p["quick"] else "each once (the quick reservoir is copy 0 only)"
    result["notes"] = [
        f"Reservoir: benchmarks/reservoir.py's load batches ({setup['distinct_texts']:,} distinct corpus texts "
        f"{copies}), committed with tasks.core.reservoir.commit in 10 batches; set-up took "
        f"{setup['assign_seconds']:.0f} s for the cluster assignment and {setup['load_seconds']:.0f} s for the "
        "commits (once, cached; not in the timings above).",
        "cluster_id / novelty / cluster_share: "
        + (
            "fit_and_assign (default DiversityConfig) on the distinct texts, copied to every copy of a text."
            if p["clusters"] == "model"
            else "a deterministic hash stand-in (64 clusters, uniform novelty)."
        )
        + " p_human: a stand-in, 0.5 + 0.5 * u(doc_id).",
    ]
    if not p["quick"]:
        result["notes"].append(
            "Because every text occurs in 8-9 copies, almost no word is used by <= rare_df = 2 documents: rarity "
            "is ~0 for nearly every document here, but its cost (tokenising the first 1,000 characters of every "
            "candidate) does not depend on the values."
        )
    result["notes"] += [
        "Wall vs CPU: with a load average far above 2 on 2 cores, a process waits for the CPUs, so wall seconds "
        "are upper bounds and CPU seconds show the work itself.",
        "Phases come from wrapping the functions build_dataset calls: candidates = reservoir_candidates (one "
        "streaming Delta scan: filter, metadata columns, text length and the word buckets of the first 1,000 "
        "characters; the texts are dropped as it streams); rarity = rarity_from_buckets (document frequencies and "
        "shares, numpy); weights = sampling.weights minus rarity; sampling = weighted_sample minus weights, plus "
        "the final shuffle's keys; texts = reservoir_texts (a second streaming scan keeping the texts of the "
        "chosen documents and of the metrics sample, an is_in filter on doc_id: a semi-join that decodes only those texts); shards = write_shards (zstd-9 + "
        "sha256); manifest = counts per source/cluster/licence/language; metrics = the diversity metrics of the "
        "build and of the reservoir sample; record = the builds-table append; other = the rest (metrics sample, "
        "joins, shuffle sort, folder rename). The 'before' row's phases come from that revision's own benchmark "
        "child (its candidates phase read every text; its metrics ran inside 'other', on the whole pool).",
        "The diversity metrics in the manifest (build and reservoir) are each measured on a uniform sample big "
        "enough for every sample-bounded metric (16 bytes per lexical token, 2x the gzip sample, 2x the Vendi "
        f"sample: {result['runs'].get('ours', {}).get('report', {}).get('diversity_sample') or {}} "
        "documents here; `documents` is the whole count); before, the build's 100k texts and all 1M texts of the "
        "pool were measured. The metrics phase includes importing tasks.core.diversity (sklearn, skops, "
        "matplotlib: ~6 CPU s of it).",
        "'ours, no metrics' passes metrics= a function measuring nothing: the difference to 'ours' is what the "
        "default manifest metrics cost.",
        "The peer samples uniformly (no weights, no per-source cap, no manifest/card/record/metrics) and writes "
        "the same shards with the same write_shards; ratio = build s / peer build s.",
        "Single runs on a shared 2-core machine: expect 10-30 % noise between repeats.",
    ]
    tag = ".quick" if args.quick else ""
    json_path, md_path = write_results(f"build{tag}", result, render(result))
    print(render(result))
    print(f"\nwrote {json_path.relative_to(REPO)} and {md_path.relative_to(REPO)}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Skip as e:
        print(f"build benchmark skipped: {e}", file=sys.stderr)
        sys.exit(0)
