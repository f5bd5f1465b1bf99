"""rensa peer for benchmarks/dedup.py; runs inside benchmarks/.venvs/rensa (see setup_rensa.sh), stdlib + rensa only.

Usage as rensa's README shows it: one ``RMinHash`` per document updated with its tokens, an
``RMinHashLSH`` index, ``query`` per document and a ``jaccard`` check of every candidate. Tokens are the
same word 5-gram shingles as the other contenders (lowercased, split on whitespace).

    python rensa_worker.py INPUT.jsonl OUTPUT.json THRESHOLD NUM_PERM NGRAM
"""

import json
import sys
import time

from rensa import RMinHash, RMinHashLSH

NUM_BANDS = 16  # rensa needs bands dividing num_perm; 16 x 8 is its README's choice for 128


def shingles(text: str, n: int) -> list[str]:
    words = text.lower().split()
    if len(words) < n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def main() -> None:
    source, target, threshold, num_perm, ngram = sys.argv[1:6]
    with open(source, encoding="utf-8") as lines:
        docs = [json.loads(line) for line in lines]
    start = time.perf_counter()
    minhashes = []
    for doc in docs:
        m = RMinHash(num_perm=int(num_perm), seed=1)
        m.update(shingles(doc["text"], int(ngram)))
        minhashes.append(m)
    lsh = RMinHashLSH(threshold=float(threshold), num_perm=int(num_perm), num_bands=NUM_BANDS)
    for key, m in enumerate(minhashes):
        lsh.insert(key, m)
    pairs = []
    for key, m in enumerate(minhashes):
        for other in lsh.query(m):
            if other > key and m.jaccard(minhashes[other]) >= float(threshold):
                pairs.append((docs[key]["doc_id"], docs[other]["doc_id"]))
    seconds = time.perf_counter() - start
    with open(target, "w", encoding="utf-8") as out:
        json.dump(
            {
                "seconds": seconds,
                "docs": len(docs),
                "pairs": pairs,
                "bands_rows": [NUM_BANDS, int(num_perm) // NUM_BANDS],
            },
            out,
        )


if __name__ == "__main__":
    main()
