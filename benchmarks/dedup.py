"""Near-dedup benchmark: ``tasks.core.minhash.near_duplicates`` against datasketch, rensa and datatrove, same run.

    .venv/bin/python -m benchmarks.dedup [--docs N] [--peer-docs M] [--quick]
    .venv/bin/python -m benchmarks.dedup --scale [--scale-docs 100000,1000000]

Writes ``benchmarks/results/dedup.json`` and ``dedup.md`` (``dedup.quick.*`` with ``--quick``,
``dedup.scale.*`` with ``--scale``). Needs ``../shared/corpus/human.parquet``
(or ``$WELLSPRING_CORPUS/human.parquet``); without it the benchmark says so and exits 0. The rensa and
datatrove peers run in their own venvs under ``benchmarks/.venvs/``, made (or brought up to date) by
``benchmarks/peers/setup_<peer>.sh`` before they run; where that fails the peer is reported as skipped.

**Contenders.** Each runs in its own subprocess pinned to one CPU (``POLARS_MAX_THREADS=1``); its
peak RSS is the child's ``ru_maxrss`` from ``os.wait4`` (includes the interpreter, imports and the
loaded documents). Time covers shingling, hashing, banding, candidate search and verification,
not reading the input. All use 128 permutations, word 5-gram shingles of lowercased
whitespace-split text and Jaccard threshold 0.8.

- ``wellspring``: ``near_duplicates(docs, MinHashConfig())`` end to end (verification on, clusters
  and survivors included), on all N documents and on the peers' subset.
- ``wellspring CLI``: ``wellspring dedup peers.jsonl --out DIR --json`` as a subprocess (or
  ``python -m flows.cli_dedup`` while ``dedup`` is not registered in ``flows/cli.py``; the command
  used is recorded), median of 3 runs: interpreter start-up, imports, reading the JSONL, dedup and
  writing both Parquet files (the survivors are the whole corpus again, with every column). Once with
  its default ``--workers`` (every CPU), once pinned to one CPU with ``--workers 1``, and once as
  ``python -m flows.cli_dedup`` (the lean front end without typer and the rest of the ``wellspring``
  app, see ``flows/cli_dedup.py``).
- ``datasketch-naive``: ``MinHash.update`` per shingle (default SHA-1 hash), ``MinHashLSH.insert``,
  ``query`` per document, candidate kept when ``MinHash.jaccard >= 0.8``.
- ``datasketch-bulk``: ``MinHash.generator`` over shingle lists with an xxh32 ``hashfunc``,
  ``MinHashLSH.insertion_session``, same query and check.
- ``rensa``: ``RMinHash`` / ``RMinHashLSH`` (16 bands) as in rensa's README, with its ``jaccard``
  check (``benchmarks/peers/rensa_worker.py``).
- ``datatrove``: its four MinHash stages (signatures, buckets, clusters, filter) with the configuration
  of its example (14 buckets x 8 hashes of 64 bits, word 5-grams of its own normalised text), one
  worker, reading the JSONL itself (``benchmarks/peers/datatrove_minhash.py``). Like wellspring it
  reports clusters, so it is scored like wellspring (pairs inside clusters, and removals).

The peers run on the first M documents (``--peer-docs``, default: all N) of the same sample; when
M < N wellspring is run on that subset too, so every ratio compares equal inputs. *End to end* is
the wall time of each contender's whole subprocess (start-up, imports, reading its input, dedup,
writing its result), measured by the parent, with its CPU time (user + system, all threads, from
``os.wait4``) beside it; *seconds* is the in-process dedup time only. A fixed start-up cost weighs
less the more documents there are, so every contender runs on the same documents. The datasketch
workers read the Parquet copy of the documents with Polars, rensa reads the JSONL with ``json``.
On a shared machine wall times move with the load, so ``wellspring dedup`` also runs once right before
and once right after each peer, and that peer's wall time is compared with the mean of those two runs
as well as with the median CLI run; CPU seconds show the work done whatever the load.

**Accuracy.** Ground truth is the exact Jaccard of the documents' shingle sets (sets of 32-bit
shingle hashes from ``shingle_hashes``; a collision in 2^32 changes a similarity by one element).
Computing it for all N^2/2 pairs is out of reach, so the truth set is every pair with exact
``J >= 0.8`` among the candidates of a deliberately loose LSH pass (32 bands x 4 rows, which finds
a pair at ``J = 0.8`` with probability ``1 - (1 - 0.8^4)^32 > 1 - 1e-7``) united with every pair any
contender reported. A contender's *pairs* are what it reports as duplicates: for the peers the
verified LSH pairs; for wellspring every pair of documents put in the same cluster. Recall = true
pairs reported / true pairs. Two precisions:

- *pair precision* (the target): for a peer, its reported pairs with exact ``J >= 0.8`` / its
  reported pairs; for wellspring, removed documents whose exact Jaccard to their survivor is
  ``>= 0.8`` / removed documents (each removal is one (document, survivor) pair).
- *cluster precision* (wellspring only, stricter): all pairs inside its clusters with exact
  ``J >= 0.8`` / all such pairs; a chain A~B~C with ``J(A, C) < 0.8`` counts A-C as a miss.

**Scale** (``--scale``). The 100k set is a random sample of 100,000 corpus documents. The 1M set is
that sample ten times: the original and nine copies whose ASCII letters are rotated by 1..9 places
(``a->b``, ``z->a``, case kept, via ``str.replace_many``), ids ``<id>~<k>``, shuffled with a fixed
seed. A rotated copy keeps every length and the sample's near-duplicate structure but shares no word
with the other copies (except words without letters, e.g. numbers, and non-Latin text), so the 1M
set is ten 100k problems side by side and the work should grow linearly. (Rotating copies of the
whole corpus instead would make the 1M set denser in near-duplicates than any 100k sample of it.) ``near_duplicates(pl.scan_parquet(path), cfg)`` runs in a child pinned to one CPU
(the LazyFrame path: texts are streamed, never held whole); peak RSS is the child's ``ru_maxrss``. Every
size but the largest runs three times (the median is reported): a short run sees the machine's load at
one moment, the long one averages it. Wall and CPU seconds (the child's process time) are both reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

from benchmarks.common import PEERS, peer_python

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PEER_SCRIPTS = {"rensa": "rensa_worker.py", "datatrove": "datatrove_minhash.py"}
THRESHOLD, NUM_PERM, NGRAM = 0.8, 128, 5


def corpus_path() -> Path:
    base = Path(os.environ.get("WELLSPRING_CORPUS", ROOT.parent / "shared" / "corpus"))
    return base / "human.parquet"


# --------------------------------------------------------------------------------------------------
# Workers (run in subprocesses)


def _python_shingles(text: str) -> list[str]:
    words = text.lower().split()
    if len(words) < NGRAM:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)]


def _read_docs(path: str) -> tuple[list[str], list[str]]:
    import polars as pl

    frame = pl.read_parquet(path)
    return frame["doc_id"].to_list(), frame["text"].to_list()


def worker_wellspring(source: str) -> dict[str, Any]:
    import polars as pl

    from tasks.core.config import MinHashConfig
    from tasks.core.minhash import near_duplicates

    docs = pl.read_parquet(source)
    start = time.perf_counter()
    out = near_duplicates(docs, MinHashConfig(num_perm=NUM_PERM, ngram=NGRAM, threshold=THRESHOLD))
    seconds = time.perf_counter() - start
    clusters = out.filter(pl.col("cluster_id").is_not_null()).group_by("cluster_id").agg("doc_id")
    pairs = [list(p) for members in clusters["doc_id"].to_list() for p in combinations(sorted(members), 2)]
    removals = out.filter(~pl.col("survivor")).select("doc_id", "near_dup_of").rows()
    return {"seconds": seconds, "docs": docs.height, "pairs": pairs, "removals": removals}


def worker_scale(source: str) -> dict[str, Any]:
    import polars as pl

    from tasks.core.config import MinHashConfig
    from tasks.core.minhash import near_duplicates

    start, cpu_start = time.perf_counter(), time.process_time()
    out = near_duplicates(pl.scan_parquet(source), MinHashConfig(num_perm=NUM_PERM, ngram=NGRAM, threshold=THRESHOLD))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    removed = int((~out["survivor"]).sum())
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "docs": out.height, "removed": removed}


def _datasketch_pairs(ids: list[str], minhashes: list[Any], lsh: Any) -> list[list[str]]:
    pairs = []
    for key, m in enumerate(minhashes):
        for other in lsh.query(m):
            if other > key and m.jaccard(minhashes[other]) >= THRESHOLD:
                pairs.append([ids[key], ids[other]])
    return pairs


def worker_datasketch_naive(source: str) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    ids, texts = _read_docs(source)
    start = time.perf_counter()
    minhashes = []
    for text in texts:
        m = MinHash(num_perm=NUM_PERM, seed=1)
        for shingle in _python_shingles(text):
            m.update(shingle.encode("utf-8"))
        minhashes.append(m)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    for key, m in enumerate(minhashes):
        lsh.insert(key, m)
    pairs = _datasketch_pairs(ids, minhashes, lsh)
    return {"seconds": time.perf_counter() - start, "docs": len(ids), "pairs": pairs}


def worker_datasketch_bulk(source: str) -> dict[str, Any]:
    import xxhash
    from datasketch import MinHash, MinHashLSH

    ids, texts = _read_docs(source)
    start = time.perf_counter()
    shingle_lists = ([s.encode("utf-8") for s in _python_shingles(text)] for text in texts)
    minhashes = list(MinHash.generator(shingle_lists, num_perm=NUM_PERM, seed=1, hashfunc=xxhash.xxh32_intdigest))
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for key, m in enumerate(minhashes):
            session.insert(key, m)
    pairs = _datasketch_pairs(ids, minhashes, lsh)
    return {"seconds": time.perf_counter() - start, "docs": len(ids), "pairs": pairs}


def worker_prepare(sizes: str, directory: str) -> dict[str, Any]:
    """Sample the corpus into ``all.parquet``, ``peers.parquet`` and ``peers.jsonl`` (in a child, so the
    parent stays small: Linux carries a parent's peak RSS into every child it spawns)."""
    import polars as pl

    n_docs, n_peer = (int(x) for x in sizes.split(","))
    corpus = pl.read_parquet(corpus_path(), columns=["id", "text", "created_at"]).rename({"id": "doc_id"})
    docs = corpus.sample(min(n_docs, corpus.height), seed=0, shuffle=True)
    subset = docs.head(min(n_peer, docs.height))
    out = Path(directory)
    docs.write_parquet(out / "all.parquet")
    subset.write_parquet(out / "peers.parquet")
    subset.select("doc_id", "text").write_ndjson(out / "peers.jsonl")
    return {"docs": docs.height, "peer_docs": subset.height}


def worker_scale_prepare(sizes: str, directory: str) -> dict[str, Any]:
    """The scale sets (see the docstring): a corpus sample of the smallest size, and for each larger
    size that many rows of the sample's letter-rotated copies, shuffled."""
    import polars as pl

    lower, upper = "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    counts = sorted(int(x) for x in sizes.split(","))
    corpus = pl.read_parquet(corpus_path(), columns=["id", "text"]).rename({"id": "doc_id"})
    sample = corpus.sample(min(counts[0], corpus.height), seed=0, shuffle=True)
    copies = [sample.with_columns(pl.col("doc_id") + "~0")]
    for k in range(1, -(-counts[-1] // sample.height)):
        rotated = [c[k % 26 :] + c[: k % 26] for c in (lower, upper)]
        copies.append(
            sample.with_columns(
                pl.col("doc_id") + f"~{k}",
                pl.col("text").str.replace_many(list(lower + upper), list(rotated[0] + rotated[1])),
            )
        )
    out, written = Path(directory), {}
    for n in counts:
        docs = pl.concat(copies[: -(-n // sample.height)]).head(n).sample(fraction=1.0, shuffle=True, seed=1)
        docs.write_parquet(out / f"scale-{n}.parquet", row_group_size=20_000)
        written[str(n)] = docs.height
    return written


def worker_truth(reported_json: str, directory: str) -> dict[str, Any]:
    """Exact Jaccard of every loose-LSH candidate pair and every reported pair (see the docstring)."""
    import polars as pl

    docs = pl.read_parquet(Path(directory) / "all.parquet")
    reported = {tuple(sorted(p)) for p in json.loads(Path(reported_json).read_text())}
    truth = ground_truth(docs["doc_id"].to_list(), docs["text"].to_list(), reported)
    return {"pairs": [[a, b, j] for (a, b), j in truth.items() if j >= THRESHOLD or (a, b) in reported]}


WORKERS: dict[str, Callable[..., dict[str, Any]]] = {
    "prepare": worker_prepare,
    "scale-prepare": worker_scale_prepare,
    "truth": worker_truth,
    "scale": worker_scale,
    "wellspring": worker_wellspring,
    "datasketch-naive": worker_datasketch_naive,
    "datasketch-bulk": worker_datasketch_bulk,
}


def _run_worker(name: str, source: str, target: str) -> None:
    if name in ("prepare", "scale-prepare", "truth"):
        result = WORKERS[name](source, str(Path(target).parent))
        Path(target).write_text(json.dumps(result))
        return
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    result = WORKERS[name](source)
    Path(target).write_text(json.dumps(result))


# --------------------------------------------------------------------------------------------------
# Parent


def run_contender(name: str, parquet: Path, jsonl: Path, tmp: Path) -> dict[str, Any]:
    target = tmp / f"{name}-{parquet.stem}.json"
    env = {**os.environ, "POLARS_MAX_THREADS": "1", "OMP_NUM_THREADS": "1"}
    if name in PEER_SCRIPTS:  # a peer in its own venv, pinned to one CPU like the others
        python, problem = peer_python(name)
        if python is None:
            return {"skipped": problem}
        cmd = [str(python), str(PEERS / PEER_SCRIPTS[name]), str(jsonl), str(target)]
        cmd += [str(THRESHOLD), str(NUM_PERM), str(NGRAM)]
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    else:
        cmd = [sys.executable, "-m", "benchmarks.dedup", "--worker", name, str(parquet), str(target)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        return {"skipped": f"worker failed with exit code {os.waitstatus_to_exitcode(status)}"}
    result: dict[str, Any] = json.loads(target.read_text())
    result["end_to_end_seconds"] = round(wall, 3)
    result["end_to_end_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 3)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    result["docs_per_s"] = round(result["docs"] / result["seconds"], 1)
    return result


def cli_command() -> list[str]:
    """``wellspring dedup`` when it is registered, else the module (same code, same start-up path)."""
    script = Path(sys.executable).parent / "wellspring"
    probe = subprocess.run([str(script), "dedup", "--help"], cwd=ROOT, capture_output=True, check=False)
    if script.exists() and probe.returncode == 0:
        return [str(script), "dedup"]
    return [sys.executable, "-m", "flows.cli_dedup"]


def run_cli(jsonl: Path, tmp: Path, pinned: bool, repeats: int = 3, lean: bool = False) -> dict[str, Any]:
    """Median wall time of ``wellspring dedup`` as a subprocess (see the docstring)."""
    front = [sys.executable, "-m", "flows.cli_dedup"] if lean else cli_command()
    cmd = [*front, str(jsonl), "--out", str(tmp / "cli-out"), "--json"]
    if pinned:
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd, "--workers", "1"]
    runs = []
    for _ in range(repeats):
        with (tmp / "cli-stdout.json").open("wb") as stdout:
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=stdout)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            return {"skipped": f"CLI failed with exit code {os.waitstatus_to_exitcode(status)}"}
        cpu = usage.ru_utime + usage.ru_stime
        runs.append((wall, usage.ru_maxrss, json.loads((tmp / "cli-stdout.json").read_text()), cpu))
    runs.sort(key=lambda r: r[0])
    wall, rss, summary, cpu = runs[len(runs) // 2]
    return {
        "command": " ".join(Path(c).name if c.startswith("/") else c for c in cmd),
        "end_to_end_seconds": round(wall, 3),
        "end_to_end_cpu_seconds": round(cpu, 3),
        "end_to_end_runs": [round(r[0], 3) for r in runs],
        "seconds": summary["seconds"],
        "timings": summary.get("timings"),
        "docs": summary["documents"],
        "removed": summary["removed"],
        "docs_per_s": round(summary["documents"] / wall, 1),
        "peak_rss_mb": round(rss / 1024, 1),
    }


def _run(name: str, source: Path, target: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.dedup", "--worker", name, str(source), str(target)]
    subprocess.run(cmd, cwd=ROOT, check=True)
    result: dict[str, Any] = json.loads(target.read_text())
    return result


def ground_truth(ids: list[str], texts: list[str], extra_pairs: set[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Exact Jaccard of shingle-hash sets for loose-LSH candidates plus ``extra_pairs`` (see docstring)."""
    import numpy as np
    import polars as pl

    from tasks.core.config import MinHashConfig
    from tasks.core.minhash import band_hashes, shingle_hashes, signatures

    cfg = MinHashConfig(num_perm=NUM_PERM, ngram=NGRAM)
    hashes, offsets = shingle_hashes(texts, cfg)
    sets = [np.unique(hashes[offsets[i] : offsets[i + 1]]) for i in range(len(texts))]
    bands = band_hashes(signatures(texts, cfg), 32, 4)
    table = pl.DataFrame(
        {
            "node": np.repeat(np.arange(len(texts), dtype=np.uint32), 32),
            "band": np.tile(np.arange(32, dtype=np.uint8), len(texts)),
            "h": bands.reshape(-1),
        }
    )
    nonempty = pl.Series([len(s) > 0 for s in sets])
    table = table.filter(nonempty.gather(table["node"].cast(pl.Int64)))
    buckets = table.group_by("band", "h").agg("node").filter(pl.col("node").list.len().is_between(2, 2000))
    pairs = (
        buckets.select(pl.col("node").alias("i"), pl.col("node").alias("j"))
        .explode("i")
        .explode("j")
        .filter(pl.col("i") < pl.col("j"))
        .unique()
    )
    position = {doc_id: k for k, doc_id in enumerate(ids)}
    candidates = set(zip(pairs["i"].to_list(), pairs["j"].to_list(), strict=True))
    candidates |= {tuple(sorted((position[a], position[b]))) for a, b in extra_pairs}  # type: ignore[misc]
    truth = {}
    for i, j in candidates:
        a, b = sets[i], sets[j]
        size_ratio = min(len(a), len(b)) / max(len(a), len(b), 1)
        if size_ratio < THRESHOLD:  # J <= size ratio: below the threshold without intersecting
            jaccard = size_ratio
        else:
            inter = len(np.intersect1d(a, b, assume_unique=True))
            jaccard = inter / (len(a) + len(b) - inter)
        key = (ids[i], ids[j]) if ids[i] < ids[j] else (ids[j], ids[i])
        truth[key] = jaccard
    return truth


def score(result: dict[str, Any], truth: dict[tuple[str, str], float], doc_ids: set[str] | None) -> None:
    """Pair precision, cluster precision (wellspring) and recall among ``doc_ids`` (None: all documents)."""
    reported = {tuple(sorted(p)) for p in result.pop("pairs")}
    true_pairs = {
        p for p, j in truth.items() if j >= THRESHOLD and (doc_ids is None or (p[0] in doc_ids and p[1] in doc_ids))
    }
    hits = len(reported & true_pairs)
    result["pairs_reported"] = len(reported)
    result["true_pairs"] = len(true_pairs)
    result["recall"] = round(hits / len(true_pairs), 4) if true_pairs else None
    precision = round(hits / len(reported), 4) if reported else None
    if "removals" in result:
        removals = [tuple(sorted(p)) for p in result.pop("removals")]
        good = sum(truth.get(p, 0.0) >= THRESHOLD for p in removals)
        result["removed"] = len(removals)
        result["pair_precision"] = round(good / len(removals), 4) if removals else None
        result["cluster_precision"] = precision
    else:
        result["pair_precision"] = precision


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}x"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Near-dedup benchmark",
        "",
        f"`{report['command']}` on {report['machine']}; load average before the run {report['load_before']}, "
        f"after {report['load_after']} (other jobs were running: absolute times are inflated, ratios are "
        f"same-run). {report['docs']:,} documents of the shared corpus (peers on the first "
        f"{report['peer_docs']:,}); 128 permutations, word 5-grams, J >= 0.8; in-process contenders each in "
        "their own process pinned to one CPU.",
        "",
        "## In process (dedup stage only, one CPU)",
        "",
        "| contender | docs | seconds | docs/s | peak RSS MB | pairs | pair precision | cluster precision "
        "| recall | wellspring is x faster |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in report["results"]:
        if "skipped" in row:
            lines.append(f"| {row['name']} | | | | | | | | | skipped: {row['skipped']} |")
            continue
        lines.append(
            f"| {row['name']} | {row['docs']:,} | {row['seconds']:.2f} | {row['docs_per_s']:,.0f} | "
            f"{row['peak_rss_mb']:,.0f} | {row.get('pairs_reported', '')} | {row.get('pair_precision')} | "
            f"{row.get('cluster_precision') or ''} | {row.get('recall')} | {_ratio(row.get('wellspring_speedup'))} |"
        )
    lines += [
        "",
        f"## End to end on the {report['peer_docs']:,} peer documents (whole subprocess, start-up included)",
        "",
        "| contender | command | wall seconds | CPU seconds | peak RSS MB | load at start | "
        "`wellspring dedup` is x faster (wall, median run) | (wall, runs just before and after) | (CPU) | "
        "`--workers 1`, one CPU, is x faster (wall) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in report["end_to_end"]:
        if "skipped" in row:
            lines.append(f"| {row['name']} | | | | | | skipped: {row['skipped']} | | | |")
            continue
        around = row.get("cli_around_seconds")
        lines.append(
            f"| {row['name']} | `{row.get('command', 'worker subprocess')}` | {row['end_to_end_seconds']:.2f} | "
            f"{row.get('end_to_end_cpu_seconds', 0):.2f} | {row['peak_rss_mb']:,.0f} | {row.get('load', '')} | "
            f"{_ratio(row.get('cli_speedup'))} | "
            + (
                f"{_ratio(row.get('cli_around_speedup'))} ({' / '.join(f'{w:.1f}' for w in around)} s)"
                if around
                else ""
            )
            + f" | {_ratio(row.get('cli_cpu_speedup'))} | {_ratio(row.get('cli_1cpu_speedup'))} |"
        )
    for row in report["end_to_end"]:
        if row.get("timings"):
            parts = ", ".join(f"{k.replace('_', ' ')} {v:.2f} s" for k, v in row["timings"].items())
            lines += ["", f"`{row['command']}` inside the process (median run): {parts}."]
    lines += [
        "",
        "Pair precision: removed documents with exact J >= 0.8 to their survivor (wellspring) or reported pairs "
        "with exact J >= 0.8 (peers). Cluster precision: every pair inside a wellspring cluster. "
        "Method: see the docstring of `benchmarks/dedup.py`.",
        "",
    ]
    return "\n".join(lines)


def scale_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Near-dedup scale benchmark",
        "",
        f"`{report['command']}` on {report['machine']}; load average before {report['load_before']}, after "
        f"{report['load_after']}. `near_duplicates(pl.scan_parquet(...))` in a child pinned to one CPU (median of "
        "3 runs for all but the largest size; CPU seconds are the child's process time, which the load of other "
        "jobs inflates less than wall time); the sets are a 100k corpus sample and that sample with its 9 letter-rotated copies, shuffled (see the docstring "
        "of `benchmarks/dedup.py`).",
        "",
        "| documents | seconds | CPU seconds | docs/s | peak RSS MB | removed | time vs smallest "
        "| CPU time vs smallest | size vs smallest |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    base = report["results"][0]
    for row in report["results"]:
        cpu, base_cpu = row.get("cpu_seconds"), base.get("cpu_seconds")
        cpu_ratio = f"{cpu / base_cpu:.2f}x" if cpu and base_cpu else ""
        lines.append(
            f"| {row['docs']:,} | {row['seconds']:.1f} | {cpu or 0:.1f} | {row['docs_per_s']:,.0f} | "
            f"{row['peak_rss_mb']:,.0f} | {row['removed']:,} | {row['seconds'] / base['seconds']:.2f}x | "
            f"{cpu_ratio} | {row['docs'] / base['docs']:.1f}x |"
        )
    return "\n".join([*lines, ""])


def _machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _seconds(row: dict[str, Any]) -> float:
    return float(row["seconds"])


def run_scale(sizes: list[int]) -> int:
    results = []
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="wellspring-scale-") as tmp_name:
        tmp = Path(tmp_name)
        print(f"benchmarks.dedup: building the scale sets {sizes} ...", file=sys.stderr, flush=True)
        _run("scale-prepare", Path(",".join(map(str, sizes))), tmp / "sizes.json")
        for n in sorted(sizes):
            # Short runs catch the machine's load at one moment: the median of three for all but the
            # largest size (which runs long enough to average it).
            repeats = 1 if n == max(sizes) else 3
            print(f"benchmarks.dedup: wellspring on {n:,} (scale, {repeats} runs) ...", file=sys.stderr, flush=True)
            parquet = tmp / f"scale-{n}.parquet"
            runs = sorted((run_contender("scale", parquet, parquet, tmp) for _ in range(repeats)), key=_seconds)
            row = runs[len(runs) // 2]
            row["runs_seconds"] = [round(r["seconds"], 2) for r in runs]
            results.append(row)
    report = {
        "command": "python -m benchmarks.dedup --scale --scale-docs " + ",".join(map(str, sizes)),
        "machine": _machine(),
        "load_before": load_before,
        "load_after": _load(),
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dedup.scale.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "dedup.scale.md").write_text(scale_markdown(report))
    print(scale_markdown(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents for wellspring (default 100,000)")
    parser.add_argument("--peer-docs", type=int, default=None, help="documents for the peers (default: --docs)")
    parser.add_argument("--quick", action="store_true", help="5,000 documents, peers on 2,000")
    parser.add_argument("--scale", action="store_true", help="only the scale run (perturbed corpus, see docstring)")
    parser.add_argument("--scale-docs", default="100000,1000000", help="sizes of the scale run (comma-separated)")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "INPUT", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _run_worker(*args.worker)
        return 0
    path = corpus_path()
    if not path.is_file():
        print(f"benchmarks.dedup: corpus not found at {path}; nothing to measure", file=sys.stderr)
        return 0
    if args.scale:
        return run_scale([int(x) for x in args.scale_docs.split(",")])
    n_docs, n_peer = (5_000, 2_000) if args.quick else (args.docs, args.peer_docs or args.docs)
    results, end_to_end = [], []
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="wellspring-bench-") as tmp_name:
        tmp = Path(tmp_name)
        sizes = _run("prepare", Path(f"{n_docs},{n_peer}"), tmp / "sizes.json")
        n_docs, n_peer = sizes["docs"], sizes["peer_docs"]
        full_parquet, peer_parquet, peer_jsonl = tmp / "all.parquet", tmp / "peers.parquet", tmp / "peers.jsonl"
        for pinned, lean in ((False, False), (True, False), (False, True)):
            print(f"benchmarks.dedup: wellspring CLI on peers (pinned={pinned}, lean={lean}) ...", file=sys.stderr)
            load = _load()
            row = run_cli(peer_jsonl, tmp, pinned, lean=lean)
            row["name"] = "wellspring dedup" + (" (--workers 1, one CPU)" if pinned else "")
            row["name"] += " (python -m flows.cli_dedup)" if lean else ""
            row["load"] = load.split(",")[0]
            end_to_end.append(row)
        plan = [("wellspring", full_parquet)]
        if n_peer < n_docs:
            plan.append(("wellspring", peer_parquet))
        plan += [(name, peer_parquet) for name in ("datasketch-bulk", "rensa", "datatrove", "datasketch-naive")]
        for name, parquet in plan:
            print(f"benchmarks.dedup: {name} on {parquet.stem} ...", file=sys.stderr, flush=True)
            is_peer = not name.startswith("wellspring")
            around = [run_cli(peer_jsonl, tmp, pinned=False, repeats=1)] if is_peer else []
            load = _load()
            row = run_contender(name, parquet, peer_jsonl, tmp)
            row["load"] = load.split(",")[0]
            if is_peer:  # the load moves: the CLI once more right after, so the peer is compared with both
                around.append(run_cli(peer_jsonl, tmp, pinned=False, repeats=1))
                row["cli_around"] = [
                    {k: r[k] for k in ("end_to_end_seconds", "end_to_end_cpu_seconds")}
                    for r in around
                    if "seconds" in r
                ]
            row["name"] = name if parquet == full_parquet or n_peer == n_docs else f"{name} (subset)"
            row.setdefault("docs", n_docs if parquet == full_parquet else n_peer)
            results.append(row)
        started = time.perf_counter()
        reported = [p for r in results for key in ("pairs", "removals") for p in r.get(key, [])]
        (tmp / "reported.json").write_text(json.dumps(reported))
        truth_rows = _run("truth", tmp / "reported.json", tmp / "truth.json")["pairs"]
        with peer_jsonl.open(encoding="utf-8") as lines:  # not splitlines(): texts may hold U+2028
            peer_ids = {json.loads(line)["doc_id"] for line in lines}
    truth = {(a, b): j for a, b, j in truth_rows}
    for row in results:
        if "pairs" in row:
            score(row, truth, None if row["docs"] == n_docs else peer_ids)
    ours_subset = next(r for r in results if r["name"].startswith("wellspring") and r.get("docs") == n_peer)
    for row in results:
        if "seconds" in row and not row["name"].startswith("wellspring"):
            row["wellspring_speedup"] = round(row["seconds"] / ours_subset["seconds"], 2)
    cli, cli_1cpu = end_to_end[:2]
    for row in results:
        if "end_to_end_seconds" in row and not row["name"].startswith("wellspring"):
            peer = {key: row[key] for key in ("name", "end_to_end_seconds", "end_to_end_cpu_seconds", "peak_rss_mb")}
            peer["load"] = row["load"]
            for key, ours, measure in (
                ("cli_speedup", cli, "end_to_end_seconds"),
                ("cli_cpu_speedup", cli, "end_to_end_cpu_seconds"),
                ("cli_1cpu_speedup", cli_1cpu, "end_to_end_seconds"),
            ):
                if measure in ours:
                    peer[key] = round(row[measure] / ours[measure], 2)
            if row.get("cli_around"):
                walls = [r["end_to_end_seconds"] for r in row["cli_around"]]
                peer["cli_around_seconds"] = walls
                peer["cli_around_speedup"] = round(row["end_to_end_seconds"] / (sum(walls) / len(walls)), 2)
            end_to_end.append(peer)
    report = {
        "command": "python -m benchmarks.dedup"
        + (" --quick" if args.quick else f" --docs {n_docs} --peer-docs {n_peer}"),
        "machine": _machine(),
        "load_before": load_before,
        "load_after": _load(),
        "docs": n_docs,
        "peer_docs": n_peer,
        "threshold": THRESHOLD,
        "num_perm": NUM_PERM,
        "ngram": NGRAM,
        "ground_truth_seconds": round(time.perf_counter() - started, 1),
        "true_pairs": sum(j >= THRESHOLD for j in truth.values()),
        "results": results,
        "end_to_end": end_to_end,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "dedup.quick" if args.quick else "dedup"  # a quick run never overwrites the full results
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
