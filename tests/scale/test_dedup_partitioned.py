"""Band-partitioned near dedup gives exactly the result of the single-process ``near_duplicates``."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tasks.core import minhash
from tasks.core.config import MinHashConfig
from tasks.core.dedup_partitioned import band_partition, near_duplicates_partitioned


def _split(frame: pl.DataFrame, parts: int) -> list[pl.DataFrame]:
    size = -(-frame.height // parts)
    return [frame.slice(lo, size) for lo in range(0, frame.height, size)]


def _expected(docs: pl.DataFrame, cfg: MinHashConfig, index: pl.DataFrame | None = None) -> pl.DataFrame:
    found = minhash.near_duplicates(docs.drop("record_id"), cfg, index)
    return (
        found.filter(~pl.col("survivor"))
        .select("doc_id", pl.col("near_dup_of").alias("dup_of"), pl.col("similarity").alias("score"))
        .sort("doc_id")
    )


def _removed(removed: pl.DataFrame) -> pl.DataFrame:
    return removed.select("doc_id", "dup_of", "score").sort("doc_id")


@pytest.mark.parametrize(("shards", "partitions"), [(1, 1), (3, 4), (5, 2)])
def test_partitioned_equals_single_process(
    duplicated_docs: pl.DataFrame, tmp_path: Path, shards: int, partitions: int
) -> None:
    cfg = MinHashConfig()
    expected = _expected(duplicated_docs, cfg)
    assert expected.height > 300  # the fixture really holds near-duplicates, including a >256 bucket
    removed, kept = near_duplicates_partitioned(_split(duplicated_docs, shards), cfg, tmp_path, partitions)
    assert _removed(removed).equals(expected)
    assert sorted(kept["doc_id"].to_list()) == sorted(
        duplicated_docs.join(expected, on="doc_id", how="anti")["doc_id"].to_list()
    )


def test_partitioned_against_a_reservoir_index(duplicated_docs: pl.DataFrame, tmp_path: Path) -> None:
    cfg = MinHashConfig()
    stored, batch = duplicated_docs.slice(0, 800), duplicated_docs.slice(800)
    index = minhash.signature_rows(stored["doc_id"], minhash.signatures(stored["text"], cfg), cfg)
    expected = _expected(batch, cfg, index)
    assert expected.join(stored, left_on="dup_of", right_on="doc_id", how="semi").height > 0  # reservoir wins
    removed, _ = near_duplicates_partitioned(_split(batch, 3), cfg, tmp_path, 3, index.lazy())
    assert _removed(removed).equals(expected)


def test_without_verification_and_other_banding(duplicated_docs: pl.DataFrame, tmp_path: Path) -> None:
    cfg = MinHashConfig(verify=False, bands=20, rows=5, threshold=0.7)
    docs = duplicated_docs.slice(0, 1200)
    removed, _ = near_duplicates_partitioned(_split(docs, 2), cfg, tmp_path, 3)
    assert _removed(removed).equals(_expected(docs, cfg))


def test_every_bucket_lands_in_one_partition_and_all_are_used() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, 20_000, dtype=np.uint64) * np.uint64(2)
    bands = rng.integers(0, 16, 20_000).astype(np.uint16)
    parts = band_partition(bands, hashes, 7)
    assert np.array_equal(parts, band_partition(bands, hashes, 7))
    counts = np.bincount(parts, minlength=7)
    assert counts.min() > 0.8 * counts.mean()
