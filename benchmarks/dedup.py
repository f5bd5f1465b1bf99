"""Near-dedup benchmark: ``tasks.core.minhash.near_duplicates`` against datasketch and rensa, same run.

    .venv/bin/python -m benchmarks.dedup [--docs N] [--peer-docs M] [--quick]

Writes ``benchmarks/results/dedup.json`` and ``dedup.md``. Needs ``../shared/corpus/human.parquet``
(or ``$WELLSPRING_CORPUS/human.parquet``); without it the benchmark says so and exits 0. The rensa
peer needs ``bash benchmarks/peers/setup_rensa.sh`` first (its own venv under ``benchmarks/.venvs/``);
without it that peer is reported as skipped.

**Contenders.** Each runs in its own subprocess pinned to one CPU (``POLARS_MAX_THREADS=1``); its
peak RSS is the child's ``ru_maxrss`` from ``os.wait4`` (includes the interpreter, imports and the
loaded documents). Time covers shingling, hashing, banding, candidate search and verification,
not reading the input. All use 128 permutations, word 5-gram shingles of lowercased
whitespace-split text and Jaccard threshold 0.8.

- ``wellspring``: ``near_duplicates(docs, MinHashConfig())`` end to end (verification on, clusters
  and survivors included), on all N documents and on the peers' subset.
- ``datasketch-naive``: ``MinHash.update`` per shingle (default SHA-1 hash), ``MinHashLSH.insert``,
  ``query`` per document, candidate kept when ``MinHash.jaccard >= 0.8``.
- ``datasketch-bulk``: ``MinHash.generator`` over shingle lists with an xxh32 ``hashfunc``,
  ``MinHashLSH.insertion_session``, same query and check.
- ``rensa``: ``RMinHash`` / ``RMinHashLSH`` (16 bands) as in rensa's README, with its ``jaccard``
  check (``benchmarks/peers/rensa_worker.py``).

The peers are slow, so they run on the first M documents (``--peer-docs``, default 20,000) of the
same sample; wellspring is run on that subset too, so every ratio compares equal inputs.

**Accuracy.** Ground truth is the exact Jaccard of the documents' shingle sets (sets of 32-bit
shingle hashes from ``shingle_hashes``; a collision in 2^32 changes a similarity by one element).
Computing it for all N^2/2 pairs is out of reach, so the truth set is every pair with exact
``J >= 0.8`` among the candidates of a deliberately loose LSH pass (32 bands x 4 rows, which finds
a pair at ``J = 0.8`` with probability ``1 - (1 - 0.8^4)^32 > 1 - 1e-7``) united with every pair any
contender reported. A contender's *pairs* are what it reports as duplicates: for the peers the
verified LSH pairs; for wellspring every pair of documents put in the same cluster (stricter,
since a chain A~B~C also reports A-C). Precision = reported pairs with exact ``J >= 0.8`` /
reported pairs; recall = true pairs reported / true pairs. For wellspring the *removal precision*
(removed documents whose exact Jaccard to their survivor is >= 0.8) is reported as well.
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
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PEERS = ROOT / "benchmarks" / "peers"
RENSA_PYTHON = ROOT / "benchmarks" / ".venvs" / "rensa" / "bin" / "python"
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


def worker_truth(reported_json: str, directory: str) -> dict[str, Any]:
    """Exact Jaccard of every loose-LSH candidate pair and every reported pair (see the docstring)."""
    import polars as pl

    docs = pl.read_parquet(Path(directory) / "all.parquet")
    reported = {tuple(sorted(p)) for p in json.loads(Path(reported_json).read_text())}
    truth = ground_truth(docs["doc_id"].to_list(), docs["text"].to_list(), reported)  # type: ignore[arg-type]
    return {"pairs": [[a, b, j] for (a, b), j in truth.items() if j >= THRESHOLD or (a, b) in reported]}


WORKERS = {
    "prepare": worker_prepare,
    "truth": worker_truth,
    "wellspring": worker_wellspring,
    "datasketch-naive": worker_datasketch_naive,
    "datasketch-bulk": worker_datasketch_bulk,
}


def _run_worker(name: str, source: str, target: str) -> None:
    if name in ("prepare", "truth"):
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
    if name == "rensa":
        if not RENSA_PYTHON.exists():
            return {"skipped": "peer venv missing: run `bash benchmarks/peers/setup_rensa.sh`"}
        cmd = [str(RENSA_PYTHON), str(PEERS / "rensa_worker.py"), str(jsonl), str(target)]
        cmd += [str(THRESHOLD), str(NUM_PERM), str(NGRAM)]
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    else:
        cmd = [sys.executable, "-m", "benchmarks.dedup", "--worker", name, str(parquet), str(target)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return {"skipped": f"worker failed with exit code {os.waitstatus_to_exitcode(status)}"}
    result: dict[str, Any] = json.loads(target.read_text())
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    result["docs_per_s"] = round(result["docs"] / result["seconds"], 1)
    return result


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
    """Precision and recall of ``result['pairs']`` among ``doc_ids`` (None: all documents)."""
    reported = {tuple(sorted(p)) for p in result.pop("pairs")}
    true_pairs = {
        p for p, j in truth.items() if j >= THRESHOLD and (doc_ids is None or (p[0] in doc_ids and p[1] in doc_ids))
    }
    hits = len(reported & true_pairs)
    result["pairs_reported"] = len(reported)
    result["true_pairs"] = len(true_pairs)
    result["precision"] = round(hits / len(reported), 4) if reported else None
    result["recall"] = round(hits / len(true_pairs), 4) if true_pairs else None
    if "removals" in result:
        removals = [tuple(sorted(p)) for p in result.pop("removals")]
        good = sum(truth.get(p, 0.0) >= THRESHOLD for p in removals)  # type: ignore[call-overload]
        result["removed"] = len(removals)
        result["removal_precision"] = round(good / len(removals), 4) if removals else None


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Near-dedup benchmark",
        "",
        f"`{report['command']}` on {report['machine']}; {report['docs']:,} documents of the shared corpus "
        f"(peers on the first {report['peer_docs']:,}); 128 permutations, word 5-grams, J >= 0.8; "
        "every contender in its own process pinned to one CPU.",
        "",
        "| contender | docs | seconds | docs/s | peak RSS MB | pairs | precision | recall | wellspring is x faster |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in report["results"]:
        if "skipped" in row:
            lines.append(f"| {row['name']} | | | | | | | | skipped: {row['skipped']} |")
            continue
        ratio = row.get("wellspring_speedup")
        lines.append(
            f"| {row['name']} | {row['docs']:,} | {row['seconds']:.2f} | {row['docs_per_s']:,.0f} | "
            f"{row['peak_rss_mb']:,.0f} | {row.get('pairs_reported', '')} | {row.get('precision')} | "
            f"{row.get('recall')} | {'' if ratio is None else f'{ratio:.1f}x'} |"
        )
    lines += ["", "Removal precision of wellspring (removed docs with exact J >= 0.8 to their survivor): "]
    lines += [f"- {r['name']}: {r['removal_precision']}" for r in report["results"] if "removal_precision" in r]
    lines += ["", "Method: see the docstring of `benchmarks/dedup.py`.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents for wellspring (default 100,000)")
    parser.add_argument("--peer-docs", type=int, default=20_000, help="documents for the peers (default 20,000)")
    parser.add_argument("--quick", action="store_true", help="5,000 documents, peers on 2,000")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "INPUT", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _run_worker(*args.worker)
        return 0
    path = corpus_path()
    if not path.is_file():
        print(f"benchmarks.dedup: corpus not found at {path}; nothing to measure", file=sys.stderr)
        return 0
    n_docs, n_peer = (5_000, 2_000) if args.quick else (args.docs, args.peer_docs)
    results = []
    with tempfile.TemporaryDirectory(prefix="wellspring-bench-") as tmp_name:
        tmp = Path(tmp_name)
        sizes = _run("prepare", Path(f"{n_docs},{n_peer}"), tmp / "sizes.json")
        n_docs, n_peer = sizes["docs"], sizes["peer_docs"]
        full_parquet, peer_parquet, peer_jsonl = tmp / "all.parquet", tmp / "peers.parquet", tmp / "peers.jsonl"
        plan = [("wellspring", full_parquet)]
        if n_peer < n_docs:
            plan.append(("wellspring", peer_parquet))
        plan += [(name, peer_parquet) for name in ("datasketch-bulk", "rensa", "datasketch-naive")]
        for name, parquet in plan:
            print(f"benchmarks.dedup: {name} on {parquet.stem} ...", file=sys.stderr, flush=True)
            row = run_contender(name, parquet, peer_jsonl, tmp)
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
    report = {
        "command": "python -m benchmarks.dedup"
        + (" --quick" if args.quick else f" --docs {n_docs} --peer-docs {n_peer}"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "docs": n_docs,
        "peer_docs": n_peer,
        "threshold": THRESHOLD,
        "num_perm": NUM_PERM,
        "ngram": NGRAM,
        "ground_truth_seconds": round(time.perf_counter() - started, 1),
        "true_pairs": sum(j >= THRESHOLD for j in truth.values()),
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dedup.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "dedup.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
