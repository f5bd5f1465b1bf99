"""The nightly stages end to end over real tables, without Prefect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tasks.core import pipeline
from tasks.core.clean.normalize import doc_id_of
from tasks.core.config import NightlyConfig
from tasks.core.errors import NotFoundError
from tasks.core.explain import explain
from tasks.core.ledger import list_inputs
from tasks.core.storage import DataRoot
from tests.reference import curate_inbox


def run_all(root: DataRoot, inbox: Path, cfg: NightlyConfig | None = None) -> dict[str, object]:
    return curate_inbox(root, inbox, cfg)


def test_counts_add_up_and_every_record_has_one_fate(sample_inbox: Path, root: DataRoot) -> None:
    summary = run_all(root, sample_inbox)
    dropped: dict[str, int] = summary["dropped"]  # type: ignore[assignment]
    assert summary["ingested"] == 3069
    assert summary["quarantined"] == 9
    assert summary["ingested"] == summary["admitted"] + sum(dropped.values())
    assert summary["undecided"] == 0
    assert dropped["exact_dup_of"] == 20  # the 20 deliberate exact copies in docs-c and docs-d
    assert dropped["near_dup_of"] >= 20  # the 20 deliberate near-copies in docs-f, and a few natural ones
    decisions = root.scan("decisions").collect()
    assert decisions["record_id"].n_unique() == decisions.height == summary["ingested"]
    reservoir = root.scan("reservoir").collect()
    assert reservoir.height == summary["admitted"] and reservoir["doc_id"].n_unique() == reservoir.height
    # the p_human histogram of the summary: left-closed bins, as their labels say, over every scored record
    p_human: dict[str, Any] = summary["p_human"]  # type: ignore[assignment]
    scored = root.scan("scores").filter(pl.col("stage") == "provenance").unique("record_id").collect()["p_human"]
    assert sum(p_human["histogram"].values()) == p_human["scored"] == scored.len()
    assert p_human["histogram"].get(">=0.9", 0) == (scored >= 0.9).sum()
    assert p_human["histogram"].get("<0.1", 0) == (scored < 0.1).sum()


def test_exact_copies_point_at_the_original(sample_inbox: Path, root: DataRoot) -> None:
    run_all(root, sample_inbox)
    raw = root.scan("raw").select("record_id", "input", "meta").collect()
    dups = root.scan("decisions").filter(pl.col("reason") == "exact_dup_of").collect().join(raw, on="record_id")
    assert set(dups["input"].map_elements(lambda p: Path(p).name, return_dtype=pl.String)) == {
        "docs-c.csv",
        "docs-d.parquet",
    }
    survivors = raw.filter(pl.col("record_id").is_in(dups["dup_of"].to_list()))
    assert set(survivors["input"].map_elements(lambda p: Path(p).name, return_dtype=pl.String)) == {"docs-a.jsonl"}


def test_second_run_on_the_same_inbox_changes_nothing(sample_inbox: Path, root: DataRoot) -> None:
    run_all(root, sample_inbox)
    reservoir_version = root.ref("reservoir").version
    again = run_all(root, sample_inbox)
    assert (again["ingested"], again["admitted"], again["quarantined"]) == (0, 0, 0)
    assert root.ref("reservoir").version == reservoir_version


def test_a_reingested_copy_is_dropped_against_the_reservoir(sample_inbox: Path, root: DataRoot, tmp_path: Path) -> None:
    run_all(root, sample_inbox)
    later = tmp_path / "later"
    later.mkdir()
    lines = (sample_inbox / "docs-a.jsonl").read_text().splitlines()[:5]
    edited = [json.dumps({**json.loads(line), "id": "copy"}) for line in lines]  # new bytes, same texts
    (later / "again.jsonl").write_text("\n".join(edited))
    summary = run_all(root, later)
    assert summary["ingested"] == 5 and summary["admitted"] == 0
    assert summary["dropped"] == {"exact_dup_of": 5}


def test_explain_tells_the_whole_story(sample_inbox: Path, root: DataRoot) -> None:
    run_all(root, sample_inbox)
    dup = root.scan("decisions").filter(pl.col("reason") == "exact_dup_of").collect().row(0, named=True)
    story = explain(root, dup["doc_id"])
    verdicts = {(d["stage"], d["verdict"]) for d in story["decisions"]}  # type: ignore[attr-defined]
    assert verdicts == {("exact_dedup", "dropped"), ("commit", "admitted")}
    assert story["in_reservoir"] is True
    assert len(story["records"]) == 2  # type: ignore[arg-type]
    assert explain(root, dup["record_id"])["doc_id"] == dup["doc_id"]
    with pytest.raises(NotFoundError):
        explain(root, "no-such-document")


def test_run_record_keeps_summary_and_config_hash(sample_inbox: Path, root: DataRoot) -> None:
    import datetime as dt

    cfg = NightlyConfig()
    summary = run_all(root, sample_inbox, cfg)
    pipeline.record_run(root, str(summary["run_id"]), dt.datetime.now(dt.UTC), str(sample_inbox), cfg, summary)
    row = root.scan("runs").collect().row(0, named=True)
    assert row["config_hash"] == cfg.config_hash()
    assert json.loads(row["summary"])["admitted"] == summary["admitted"]


def test_edited_copies_in_a_later_run_point_into_the_reservoir_without_rehashing_it(
    sample_inbox: Path, root: DataRoot, tmp_path: Path
) -> None:
    first = tmp_path / "a"
    first.mkdir()
    (first / "docs-a.jsonl").write_bytes((sample_inbox / "docs-a.jsonl").read_bytes())
    run_all(root, first)
    signatures_before = root.scan("signatures").collect()
    originals = [json.loads(line) for line in (first / "docs-a.jsonl").read_text().splitlines()]
    admitted = set(root.scan("reservoir").collect()["doc_id"])
    long_docs = [d for d in originals if len(d["text"].split()) >= 150 and doc_id_of(d["text"]) in admitted][:8]
    edited = []
    for d in long_docs:
        words = d["text"].split(" ")
        words[len(words) // 2] = "EDITED"  # one word changed in a long document, lines kept
        edited.append({**d, "id": d["id"] + "-edited", "text": " ".join(words)})
    second = tmp_path / "b"
    second.mkdir()
    (second / "edited.jsonl").write_text("\n".join(json.dumps(d) for d in edited))
    cfg = NightlyConfig()
    run_id = pipeline.new_run_id()
    pipeline.ingest_stage(root, run_id, list_inputs([second]), cfg.ingest)
    pipeline.quality_stage(root, run_id, cfg.quality)
    pipeline.exact_dedup_stage(root, run_id)
    near = pipeline.near_dedup_stage(root, run_id, cfg.minhash)
    assert near.considered == len(edited)  # only the new batch was hashed
    assert near.dropped == {"near_dup_of": len(edited)}
    reservoir_ids = set(root.scan("reservoir").collect()["doc_id"])
    dropped = root.scan("decisions").filter(pl.col("run_id") == run_id).collect()
    assert set(dropped["dup_of"]) <= reservoir_ids and dropped["score"].min() >= 0.8  # type: ignore[operator]
    after = root.scan("signatures").filter(pl.col("doc_id").is_in(signatures_before["doc_id"].to_list())).collect()
    assert after.sort("doc_id").equals(signatures_before.sort("doc_id"))  # reservoir signatures untouched
