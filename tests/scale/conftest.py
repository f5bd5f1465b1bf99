"""Real documents with real near-duplicates for the scale-out tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest


def perturbed(text: str, rng: np.random.Generator, rate: float) -> str:
    """``text`` with about ``rate`` of its words replaced by a marker word (a near-duplicate)."""
    words = text.split()
    for k in np.flatnonzero(rng.random(len(words)) < rate):
        words[k] = f"w{rng.integers(1000)}"
    return " ".join(words)


def documents_with_duplicates(corpus: Path, originals: int, seed: int = 7) -> pl.DataFrame:
    """``record_id, doc_id, text, created_at``: ``originals`` corpus documents of 40+ words, perturbed
    copies of a fifth of them at several rates (some clearly near, some near the threshold), and 300
    light copies of one document, so one LSH bucket is larger than ``MAX_BUCKET_PAIRS_SIZE``."""
    rng = np.random.default_rng(seed)
    base = (
        pl.scan_parquet(corpus / "human.parquet")
        .select("text", "created_at")
        .filter(pl.col("text").str.split(" ").list.len() >= 40)
        .head(originals)
        .collect()
    )
    texts, dates = base["text"].to_list(), base["created_at"].to_list()
    for i in rng.choice(len(base), len(base) // 5, replace=False):
        for rate in (0.01, 0.04, 0.08):
            texts.append(perturbed(base["text"][int(i)], rng, rate))
            dates.append(None if rate > 0.05 else "2024-01-01")
    for _ in range(270):
        texts.append(perturbed(base["text"][0], rng, 0.002) + f" copy{rng.integers(1 << 30)}")
        dates.append(None)
    frame = pl.DataFrame({"text": texts, "created_at": dates}, schema={"text": pl.String, "created_at": pl.String})
    frame = frame.with_columns(
        pl.col("text").map_elements(lambda t: hashlib.sha256(t.encode()).hexdigest()[:32], pl.String).alias("doc_id")
    ).unique("doc_id", keep="first", maintain_order=True)
    return frame.with_columns(pl.format("r:{}", pl.int_range(pl.len())).alias("record_id")).select(
        "record_id", "doc_id", "text", "created_at"
    )


@pytest.fixture(scope="session")
def duplicated_docs(corpus: Path) -> pl.DataFrame:
    return documents_with_duplicates(corpus, 1200)
