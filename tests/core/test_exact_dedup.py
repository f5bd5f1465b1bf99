"""Exact dedup: deterministic survivors, the reservoir wins, input order does not matter."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.core.exact_dedup import exact_duplicates

EMPTY = pl.LazyFrame({"doc_id": []}, schema={"doc_id": pl.String})


def batch(rows: list[tuple[str, str, str | None]]) -> pl.LazyFrame:
    frame = pl.LazyFrame(rows, schema=["record_id", "doc_id", "created_at"], orient="row")
    return frame.with_columns(pl.lit("in.jsonl").alias("input"), pl.lit(1).alias("position"))


def test_first_arrival_survives_among_undated_copies() -> None:
    rows = pl.LazyFrame(
        {
            "record_id": ["zz:1", "aa:7", "mm:2"],
            "doc_id": ["d"] * 3,
            "created_at": [None] * 3,
            "input": ["b.jsonl", "b.jsonl", "a.jsonl"],
            "position": [1, 7, 2],
        }
    )
    dups = exact_duplicates(rows, EMPTY).collect().sort("record_id")
    assert dups.select("record_id", "dup_of").rows() == [("aa:7", "mm:2"), ("zz:1", "mm:2")]


def test_earliest_created_then_smallest_record_survives() -> None:
    rows = [("r3", "d1", "2001"), ("r1", "d1", None), ("r2", "d1", "1999"), ("r4", "d2", None)]
    dups = exact_duplicates(batch(rows), EMPTY).collect().sort("record_id")
    assert dups.select("record_id", "dup_of").rows() == [("r1", "r2"), ("r3", "r2")]


def test_a_document_already_in_the_reservoir_is_always_dropped() -> None:
    rows = [("r1", "d1", None), ("r2", "d2", None), ("r3", "d2", None)]
    reservoir = pl.LazyFrame({"doc_id": ["d2"]})
    dups = exact_duplicates(batch(rows), reservoir).collect().sort("record_id")
    assert dups.select("record_id", "dup_of", "in_reservoir").rows() == [("r2", "d2", True), ("r3", "d2", True)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.one_of(st.none(), st.sampled_from(["1900", "2000"]))),
        min_size=1,
        max_size=30,
    ),
    st.randoms(use_true_random=False),
)
def test_one_survivor_per_doc_id_whatever_the_order(docs: list[tuple[str, str | None]], rnd) -> None:  # type: ignore[no-untyped-def]
    rows = [(f"r{i:03d}", d, c) for i, (d, c) in enumerate(docs)]
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    first = exact_duplicates(batch(rows), EMPTY).collect().sort("record_id")
    second = exact_duplicates(batch(shuffled), EMPTY).collect().sort("record_id")
    assert first.equals(second)
    survivors = {r for r, _, _ in rows} - set(first["record_id"])
    assert len(survivors) == len({d for _, d, _ in rows})
    assert set(first["dup_of"]) <= survivors
