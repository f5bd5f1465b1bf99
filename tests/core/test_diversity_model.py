"""Representation, clusters, novelty, refresh, quotas, and versioned storage of the diversity model."""

from __future__ import annotations

import dataclasses
import fractions
import gzip
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import skops.io as sio
from polars.testing import assert_frame_equal
from sklearn.linear_model import LogisticRegression

from tasks.core.diversity import (
    ASSIGNMENT_SCHEMA,
    DiversityConfig,
    DiversityError,
    DiversityModel,
    ModelIntegrityError,
    assign,
    cluster_counts,
    cluster_quota_drops,
    fit_and_assign,
    fit_reservoir,
    load_model,
    model_versions,
    needs_refresh,
    save_model,
)
from tasks.core.diversity.store import MANIFEST_FILE, MODEL_FILE, models_dir
from tasks.core.errors import NotFoundError, SchemaError
from tasks.core.storage import DataRoot

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
CFG = DiversityConfig(svd_components=32, n_clusters=12, neighbour_sample_size=300, sample_size=100)


def human_docs() -> pl.DataFrame:
    rows = [json.loads(line) for line in (SAMPLE / "inbox" / "docs-a.jsonl").open()]
    with gzip.open(SAMPLE / "inbox" / "docs-b.jsonl.gz", "rt") as f:
        rows += [json.loads(line) for line in f]
    return pl.DataFrame({"doc_id": [r["id"] for r in rows], "text": [r["text"] for r in rows]})


def machine_docs() -> pl.DataFrame:
    rows = [json.loads(line) for line in (SAMPLE / "machine.jsonl").open()]
    return pl.DataFrame({"doc_id": [r["id"] for r in rows], "text": [r["text"] for r in rows]})


@pytest.fixture(scope="module")
def docs() -> pl.DataFrame:
    return human_docs()


@pytest.fixture(scope="module")
def fitted(docs: pl.DataFrame) -> tuple[DiversityModel, pl.DataFrame]:
    return fit_and_assign(docs.head(1000), CFG, reservoir_version=3)


def test_assignments_have_one_row_per_document_with_valid_values(
    docs: pl.DataFrame, fitted: tuple[DiversityModel, pl.DataFrame]
) -> None:
    model, assigned = fitted
    assert assigned.schema == ASSIGNMENT_SCHEMA
    assert assigned["doc_id"].to_list() == docs.head(1000)["doc_id"].to_list()
    assert assigned["cluster_id"].min() >= 0 and assigned["cluster_id"].max() < model.n_clusters  # type: ignore[operator]
    assert assigned.select(pl.col("novelty", "centroid_distance").is_between(0, 1).all()).row(0) == (True, True)
    assert int(model.cluster_counts.sum()) == 1000
    shares = assigned.group_by("cluster_id").agg(pl.col("cluster_share").first(), pl.len())
    assert shares.select((pl.col("cluster_share") - pl.col("len") / 1000).abs().max()).item() < 1e-12
    # assigning the same documents again gives the same answer (a document is never its own neighbour)
    assert_frame_equal(assign(docs.head(1000).lazy(), model), assigned)
    assert model.info.reservoir_version == 3 and model.info.fitted_docs == 1000 and model.info.dim == 32


def test_novelty_is_low_for_copies_and_higher_for_machine_text_than_held_out_human_text(
    docs: pl.DataFrame, fitted: tuple[DiversityModel, pl.DataFrame]
) -> None:
    model, _ = fitted
    reference = pl.DataFrame({"doc_id": model.reference_ids, "row": np.arange(len(model.reference_ids))})
    copies = (
        docs.join(reference, on="doc_id").head(20).with_columns((pl.lit("copy-") + pl.col("doc_id")).alias("doc_id"))
    )
    copy_novelty = assign(copies.select("doc_id", "text"), model)["novelty"]
    original_novelty = assign(docs.join(reference, on="doc_id").head(20).select("doc_id", "text"), model)["novelty"]
    assert (copy_novelty < original_novelty).all()
    nearest_only = dataclasses.replace(model, neighbours=1)
    assert (assign(copies.select("doc_id", "text"), nearest_only)["novelty"] < 1e-4).all()
    held_out = float(assign(docs.slice(1000), model)["novelty"].mean())  # type: ignore[arg-type]
    machine = float(assign(machine_docs(), model)["novelty"].mean())  # type: ignore[arg-type]
    assert held_out < machine


def test_refresh_when_the_reservoir_grew_past_the_factor_or_the_model_config_changed(
    fitted: tuple[DiversityModel, pl.DataFrame],
) -> None:
    model, _ = fitted
    assert needs_refresh(None, 10, CFG)
    assert not needs_refresh(model, 1000, CFG)
    assert not needs_refresh(model, 1499, CFG)
    assert needs_refresh(model, 1500, CFG)
    assert needs_refresh(model, 1000, CFG.model_copy(update={"n_clusters": 13}))
    assert not needs_refresh(model, 1000, CFG.model_copy(update={"sample_size": 50}))  # a metric setting


def test_cluster_quota_drops_keep_the_most_novel_documents_and_ignore_row_order() -> None:
    cfg = DiversityConfig(quota_max_share=0.1, quota_min_docs=2)
    batch = pl.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d", "e", "f", "g"],
            "cluster_id": [0, 0, 0, 1, 1, 2, 2],
            "novelty": [0.9, 0.1, 0.5, 0.3, 0.3, 0.2, None],
        }
    )
    # 23 reservoir documents + 7 new: a cluster may hold max(2, floor(0.1 * 30)) = 3
    reservoir = {0: 1, 1: 2, 2: 20}
    # cluster 0 may add 2 (keeps a, c); cluster 1 may add 1 (tie at 0.3: keeps d); cluster 2 may add none
    expected = ["b", "e", "f", "g"]
    assert cluster_quota_drops(batch, reservoir, cfg) == expected
    for seed in range(3):
        assert cluster_quota_drops(batch.sample(fraction=1.0, shuffle=True, seed=seed), reservoir, cfg) == expected
    assert cluster_quota_drops(batch, reservoir, cfg.model_copy(update={"quota_max_share": None})) == []
    assert cluster_quota_drops(batch, {}, cfg) == ["b"]  # an empty reservoir: the floor of 2 per cluster
    assert cluster_counts(batch) == {0: 3, 1: 2, 2: 2}
    with pytest.raises(SchemaError, match="novelty"):
        cluster_quota_drops(batch.drop("novelty"), reservoir, cfg)


def test_save_and_load_round_trip(
    tmp_path: Path, docs: pl.DataFrame, fitted: tuple[DiversityModel, pl.DataFrame]
) -> None:
    root = DataRoot.at(tmp_path / "home")
    model, assigned = fitted
    stored = save_model(root, model)
    assert stored.info.version == 1 and model_versions(root) == [1]
    manifest = json.loads((models_dir(root) / "v1" / MANIFEST_FILE).read_text())
    assert manifest["reservoir_version"] == 3 and manifest["backend"] == "hashing-tfidf-svd"
    assert manifest["config"]["n_clusters"] == 12 and len(manifest["sha256"]) == 64
    loaded = load_model(root)
    texts = docs.head(1000)["text"]
    np.testing.assert_array_equal(loaded.representation.transform(texts), model.representation.transform(texts))
    assert_frame_equal(assign(docs.head(1000), loaded), assigned)
    assert save_model(root, model).info.version == 2
    assert model_versions(root) == [1, 2] and load_model(root, 1).info.version == 1


def test_loading_refuses_modified_untrusted_or_misshapen_files(
    tmp_path: Path, fitted: tuple[DiversityModel, pl.DataFrame]
) -> None:
    root = DataRoot.at(tmp_path / "home")
    with pytest.raises(NotFoundError, match="no diversity model"):
        load_model(root)
    save_model(root, fitted[0])
    folder = models_dir(root) / "v1"
    original = (folder / MODEL_FILE).read_bytes()

    (folder / MODEL_FILE).write_bytes(original[:-10] + bytes(10))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_model(root)

    def plant(obj: object) -> None:
        sio.dump(obj, folder / MODEL_FILE)
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        import hashlib

        manifest["sha256"] = hashlib.sha256((folder / MODEL_FILE).read_bytes()).hexdigest()
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest))

    plant({"kmeans": fractions.Fraction(1, 3)})  # a type outside the allow-list, checksum fixed up
    with pytest.raises(ModelIntegrityError, match="trusted"):
        load_model(root)
    state = sio.loads(original, trusted=None)
    plant({**state, "kmeans": LogisticRegression()})  # trusted by skops, but not what a model holds
    with pytest.raises(ModelIntegrityError, match="structure"):
        load_model(root)
    with pytest.raises(NotFoundError, match="v7"):
        load_model(root, 7)


def test_fit_reservoir_records_the_reservoir_version(tmp_path: Path, docs: pl.DataFrame) -> None:
    root = DataRoot.at(tmp_path / "home")
    with pytest.raises(NotFoundError, match="empty"):
        fit_reservoir(root, CFG)
    root.append("reservoir", docs.head(300).with_columns(source=pl.lit("sample")))
    ref = root.append("reservoir", docs.slice(300, 300).with_columns(source=pl.lit("sample")))
    model = fit_reservoir(root, CFG)
    assert model.info.reservoir_version == ref.version == 1 and model.info.fitted_docs == 600
    assert load_model(root).info.reservoir_version == 1


def test_bad_inputs_raise_precise_errors(fitted: tuple[DiversityModel, pl.DataFrame]) -> None:
    with pytest.raises(DiversityError, match="at least 2 documents"):
        fit_and_assign(pl.DataFrame({"doc_id": ["a"], "text": ["one lonely document"]}), CFG)
    with pytest.raises(SchemaError, match="text"):
        assign(pl.DataFrame({"doc_id": ["a"]}), fitted[0])
    empty = assign(pl.DataFrame(schema={"doc_id": pl.String, "text": pl.String}), fitted[0])
    assert empty.height == 0 and empty.schema == ASSIGNMENT_SCHEMA
