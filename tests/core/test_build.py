"""Dataset builds from a real reservoir: reproducible, rule-abiding, refused when impossible."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tasks.core import reservoir
from tasks.core.build.assemble import build_dataset, list_builds, reservoir_candidates, reservoir_texts
from tasks.core.build.outputs import VerificationFailed, verify
from tasks.core.build.sampling import WORDS, BuildRefused, rarity, rarity_from_buckets
from tasks.core.config import BuildConfig
from tasks.core.storage import DataRoot
from tests.conftest import SAMPLE
from tests.reference import curate_inbox


def curate(root: DataRoot, inbox: Path) -> None:
    curate_inbox(root, inbox)


@pytest.fixture
def filled(root: DataRoot) -> DataRoot:
    curate(root, SAMPLE / "inbox" / "docs-a.jsonl")
    curate(root, SAMPLE / "inbox" / "docs-b.jsonl.gz")
    return root


def checksums(manifest: dict[str, Any]) -> list[str]:
    return [s["sha256"] for s in manifest["shards"]]


def test_same_inputs_and_seed_give_byte_identical_shards(filled: DataRoot, tmp_path: Path) -> None:
    cfg = BuildConfig(size=400, seed=7, shard_rows=150)
    first = build_dataset(filled, "t", cfg, tmp_path / "one")
    second = build_dataset(filled, "t", cfg, tmp_path / "two")
    other = build_dataset(filled, "t", cfg.model_copy(update={"seed": 8}), tmp_path / "three")
    assert len(first["shards"]) == 3
    assert checksums(first) == checksums(second)
    assert checksums(first) != checksums(other)
    assert [p.read_bytes() for p in sorted((tmp_path / "one").glob("data-*"))] == [
        p.read_bytes() for p in sorted((tmp_path / "two").glob("data-*"))
    ]
    assert {b["build_id"] for b in list_builds(filled)} == {first["build_id"], second["build_id"], other["build_id"]}


def test_a_pinned_older_version_builds_the_same_after_new_nightly_runs(filled: DataRoot, tmp_path: Path) -> None:
    version = filled.ref("reservoir").version
    cfg = BuildConfig(size=300, seed=1, reservoir_version=version)
    before = build_dataset(filled, "pinned", cfg, tmp_path / "before")
    curate(filled, SAMPLE / "inbox" / "docs-e.json")
    assert filled.ref("reservoir").version != version
    after = build_dataset(filled, "pinned", cfg, tmp_path / "after")
    assert checksums(before) == checksums(after) and after["reservoir_version"] == version


def test_retracted_documents_leave_the_next_build(filled: DataRoot, tmp_path: Path) -> None:
    size = reservoir.stats(filled)["documents"]
    cfg = BuildConfig(size=size - 250, seed=1, max_source_share=None)
    reservoir.retract(filled, "takedown", source="spamassassin")
    manifest = build_dataset(filled, "after-takedown", cfg, tmp_path / "b")
    assert "spamassassin" not in manifest["counts"]["by_source"]
    shards = pl.read_parquet(tmp_path / "b" / "data-*.parquet")
    retracted = set(filled.scan("retractions").collect()["doc_id"])
    assert retracted.isdisjoint(shards["doc_id"].to_list())


def test_human_share_and_synthetic_cap_hold(filled: DataRoot, tmp_path: Path) -> None:
    synthetic = SAMPLE / "machine.jsonl"
    cfg = BuildConfig(size=500, seed=2, min_human=0.85, max_synthetic=0.1)
    manifest = build_dataset(filled, "mixed", cfg, tmp_path / "m", synthetic=synthetic)
    counts = manifest["counts"]
    assert counts["documents"] == 500 and counts["synthetic"] == 50
    assert counts["human_share"] >= 0.85
    rows = pl.read_parquet(tmp_path / "m" / "data-*.parquet")
    assert rows.filter(pl.col("origin") == "synthetic").height == 50
    assert rows["doc_id"].n_unique() == 500


def test_per_source_cap(filled: DataRoot, tmp_path: Path) -> None:
    manifest = build_dataset(filled, "capped", BuildConfig(size=200, seed=1, max_source_share=0.1), tmp_path / "c")
    assert max(manifest["counts"]["by_source"].values()) <= 20


def test_impossible_request_is_refused_and_writes_nothing(filled: DataRoot, tmp_path: Path) -> None:
    available = reservoir.stats(filled)["documents"]
    with pytest.raises(BuildRefused, match=f"has {available} usable documents"):
        build_dataset(filled, "big", BuildConfig(size=available * 2), tmp_path / "big")
    assert not (tmp_path / "big").exists()
    assert [p.name for p in tmp_path.iterdir() if "big" in p.name] == []


def test_verify_catches_a_changed_or_missing_shard(filled: DataRoot, tmp_path: Path) -> None:
    build_dataset(filled, "v", BuildConfig(size=300, seed=1, shard_rows=100), tmp_path / "v")
    assert verify(tmp_path / "v")["documents"] == 300
    shard = sorted((tmp_path / "v").glob("data-*"))[0]
    shard.write_bytes(shard.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(VerificationFailed, match="checksum"):
        verify(tmp_path / "v")
    shard.unlink()
    with pytest.raises(VerificationFailed, match="missing"):
        verify(tmp_path / "v")


def test_dataset_card_and_croissant_describe_the_build(filled: DataRoot, tmp_path: Path) -> None:
    import yaml

    manifest = build_dataset(filled, "card", BuildConfig(size=300, seed=1), tmp_path / "k")
    card = (tmp_path / "k" / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert front["size_categories"] == ["n<1K"] and "found" in front["language_creators"]
    assert set(front["source_datasets"]) == set(manifest["counts"]["by_source"])
    doc = json.loads((tmp_path / "k" / "croissant.json").read_text())
    assert doc["@type"] == "sc:Dataset" and doc["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    files = {d["@id"]: d for d in doc["distribution"] if d["@type"] == "cr:FileObject"}
    assert {f: d["sha256"] for f, d in files.items()} == {s["file"]: s["sha256"] for s in manifest["shards"]}
    fields = {f["name"] for f in doc["recordSet"][0]["field"]}
    assert {"doc_id", "text", "p_human", "license"} <= fields
    assert doc["rai:hasSyntheticData"] is False and doc["rai:dataCollection"]
    diversity = manifest["diversity"]
    assert diversity["vendi_score"]["build"] > 1
    # the reservoir is measured on a uniform sample, but counted whole
    assert diversity["documents"]["reservoir"] == reservoir.stats(filled)["documents"] > 300
    assert diversity["documents"]["build"] == 300
    sample = manifest["diversity_sample"]
    assert 0 < sample["reservoir"] <= diversity["documents"]["reservoir"] and 0 < sample["build"] <= 300
    assert f"uniform samples of {sample['build']} build" in card
    assert "vendi_score" in card


def test_croissant_validates_cleanly_and_reads_back_with_mlcroissant(
    filled: DataRoot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mlc = pytest.importorskip("mlcroissant")  # the optional `croissant` extra: offline validation and reading
    build_dataset(filled, "croissant", BuildConfig(size=300, seed=1), tmp_path / "c")
    with caplog.at_level(logging.WARNING):
        dataset = mlc.Dataset(jsonld=tmp_path / "c" / "croissant.json")  # raises on any validation error
        records = list(dataset.records(record_set="documents"))
    assert not dataset.metadata.ctx.issues.warnings
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert len(records) == 300 and {r["documents/origin"] for r in records} == {b"reservoir"}


def test_build_keeps_more_clusters_and_tail_vocabulary_than_uniform_sampling(root: DataRoot, tmp_path: Path) -> None:
    from tasks.core.config import DiversityConfig
    from tasks.core.diversity import set_metrics

    curate_inbox(root, SAMPLE / "inbox")
    size = 600
    shaped = BuildConfig(size=size, seed=3)
    uniform = BuildConfig(
        size=size,
        seed=3,
        cluster_temperature=1.0,
        novelty_boost=0.0,
        rarity_boost=0.0,
        p_human_power=0.0,
        max_source_share=None,
    )
    cfg = DiversityConfig(lexical_tokens=50_000, sample_size=300)
    wins = {"cluster_entropy": 0, "vocabulary_size": 0, "tail_mass": 0}
    for seed in range(3):
        ours = build_dataset(root, f"w{seed}", shaped.model_copy(update={"seed": seed}), tmp_path / f"w{seed}")
        plain = build_dataset(root, f"u{seed}", uniform.model_copy(update={"seed": seed}), tmp_path / f"u{seed}")
        assert ours["counts"]["documents"] == plain["counts"]["documents"] == size
        m_ours = set_metrics(
            pl.read_parquet(tmp_path / f"w{seed}" / "data-*.parquet")["text"],
            cfg,
            clusters=pl.read_parquet(tmp_path / f"w{seed}" / "data-*.parquet")["cluster_id"],
        )
        m_plain = set_metrics(
            pl.read_parquet(tmp_path / f"u{seed}" / "data-*.parquet")["text"],
            cfg,
            clusters=pl.read_parquet(tmp_path / f"u{seed}" / "data-*.parquet")["cluster_id"],
        )
        wins["cluster_entropy"] += m_ours.cluster_entropy > m_plain.cluster_entropy  # type: ignore[operator]
        wins["vocabulary_size"] += m_ours.vocabulary_size > m_plain.vocabulary_size
        wins["tail_mass"] += m_ours.tail_mass > m_plain.tail_mass
    assert wins == {"cluster_entropy": 3, "vocabulary_size": 3, "tail_mass": 3}


def test_candidates_come_without_text_and_give_the_same_rarity_as_the_texts(filled: DataRoot) -> None:
    version = filled.ref("reservoir").version
    assert version is not None
    pool = reservoir_candidates(filled, version)
    assert "text" not in pool.columns and pool.height == reservoir.stats(filled)["documents"]
    texts = reservoir_texts(filled, version, pool["doc_id"])
    aligned = pool.join(texts, on="doc_id", how="left", maintain_order="left")
    assert aligned["text"].null_count() == 0
    assert (aligned["text"].str.len_bytes() == aligned["text_bytes"]).all()
    from_buckets = rarity_from_buckets(pool[WORDS], chunk=97)  # several chunks, uneven
    assert from_buckets.max() > 0 and (from_buckets == rarity(aligned["text"])).all()
    some = reservoir_texts(filled, version, pool["doc_id"].head(5))
    assert sorted(some["doc_id"]) == sorted(pool["doc_id"].head(5))
