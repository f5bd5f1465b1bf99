"""datatrove peer for benchmarks/dedup.py: its four-stage MinHash pipeline, as its example shows it.

Runs inside ``benchmarks/.venvs/datatrove`` (``bash benchmarks/peers/setup_datatrove.sh``), not the project's
venv. The configuration is the one of datatrove's ``examples/minhash_deduplication.py``: 64-bit hashes,
14 buckets of 8 hashes (112 hashes, not 128: the example's choice), word 5-grams of its normalised text.
Stages run one after the other with ``LocalPipelineExecutor`` on one worker: signatures (1 task),
buckets (one task per bucket, as the example), clusters, then the filter that drops all but one document
of each cluster. Documents carry their cluster id, so the result is reported like wellspring's: every
pair inside a cluster, and each removal as a (removed, kept) pair.

    python datatrove_minhash.py INPUT.jsonl OUTPUT.json THRESHOLD NUM_PERM NGRAM

THRESHOLD and NUM_PERM are recorded, not used: datatrove sets its threshold through the bucket layout.
"""

import gzip
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

BUCKETS, HASHES_PER_BUCKET = 14, 8  # datatrove's example (and its MinhashConfig defaults)


def main() -> None:
    source, target, threshold, num_perm, ngram = sys.argv[1:6]
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    config = MinhashConfig(
        hash_config=HashConfig(precision=64),
        num_buckets=BUCKETS,
        hashes_per_bucket=HASHES_PER_BUCKET,
        n_grams=int(ngram),
    )
    source_path = Path(source)
    with tempfile.TemporaryDirectory(prefix="datatrove-minhash-") as work_name:
        work = Path(work_name)

        def reader() -> JsonlReader:
            return JsonlReader(str(source_path.parent), glob_pattern=source_path.name, id_key="doc_id")

        start = time.perf_counter()
        stages = [
            ([reader(), MinhashDedupSignature(output_folder=str(work / "signatures"), config=config)], 1),
            (
                [
                    MinhashDedupBuckets(
                        input_folder=str(work / "signatures"), output_folder=str(work / "buckets"), config=config
                    )
                ],
                BUCKETS,
            ),
            (
                [
                    MinhashDedupCluster(
                        input_folder=str(work / "buckets"),
                        output_folder=str(work / "remove_ids"),
                        config=config,
                        save_cluster_id=True,
                    )
                ],
                1,
            ),
            (
                [
                    reader(),
                    MinhashDedupFilter(
                        input_folder=str(work / "remove_ids"),
                        exclusion_writer=JsonlWriter(str(work / "removed")),
                        load_cluster_ids=True,
                    ),
                    JsonlWriter(str(work / "kept")),
                ],
                1,
            ),
        ]
        for i, (pipeline, tasks) in enumerate(stages):
            LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(work / f"logs-{i}")).run()
        seconds = time.perf_counter() - start

        def documents(folder: str) -> list[dict]:
            rows = []
            for path in sorted((work / folder).glob("*.jsonl.gz")):
                with gzip.open(path, "rt", encoding="utf-8") as lines:
                    rows += [json.loads(line) for line in lines]
            return rows

        removed, kept = documents("removed"), documents("kept")
    # Reported like wellspring's clusters: every pair of documents in one cluster, and each removal as a
    # (removed, kept) pair; a cluster's kept member is the one the filter let through.
    members: dict[int, list[str]] = {}
    kept_by_cluster: dict[int, str] = {}
    for d in removed + kept:
        cluster = d["metadata"]["minhash_cluster_id"]  # -1: in no cluster
        if cluster != -1:
            members.setdefault(cluster, []).append(d["id"])
    for d in kept:
        if d["metadata"]["minhash_cluster_id"] != -1:
            kept_by_cluster[d["metadata"]["minhash_cluster_id"]] = d["id"]
    pairs = [(a, b) for ids in members.values() for a, b in itertools.combinations(sorted(ids), 2)]
    removals = [
        (d["id"], kept_by_cluster[d["metadata"]["minhash_cluster_id"]])
        for d in removed
        if d["metadata"]["minhash_cluster_id"] in kept_by_cluster
    ]
    with open(target, "w", encoding="utf-8") as out:
        json.dump(
            {
                "seconds": seconds,
                "docs": len(removed) + len(kept),
                "pairs": pairs,
                "removals": removals,
                "bands_rows": [BUCKETS, HASHES_PER_BUCKET],
                "threshold_recorded": float(threshold),
                "num_perm_recorded": int(num_perm),
            },
            out,
        )


if __name__ == "__main__":
    main()
