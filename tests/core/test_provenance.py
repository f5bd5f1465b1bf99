"""Provenance scoring on real documents: metadata outweighs a weak classifier, disclosures sink a score,
bogus dates are ignored with evidence, stored models are versioned and tamper-checked, the CLI works."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, cast

import numpy as np
import polars as pl
import pytest
import skops.io as sio
from typer.testing import CliRunner

from flows.cli_provenance import app
from tasks.core.config import AdmissionConfig
from tasks.core.errors import ConfigError, NotFoundError, SchemaError
from tasks.core.provenance import (
    ModelFileError,
    ProvenanceConfig,
    ProvenanceModel,
    load_model,
    load_registry,
    read_documents,
    save_model,
    score,
    train,
)
from tasks.core.provenance.store import MANIFEST_FILE, MODEL_FILE
from tasks.core.storage import DataRoot

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
CFG = ProvenanceConfig(train_per_source=12, as_of=None)


@pytest.fixture(scope="module")
def human() -> pl.DataFrame:
    return pl.concat(
        [read_documents(SAMPLE / "inbox" / "docs-a.jsonl"), read_documents(SAMPLE / "inbox" / "docs-b.jsonl.gz")],
        how="diagonal_relaxed",
    )


@pytest.fixture(scope="module")
def machine() -> pl.DataFrame:
    return read_documents(SAMPLE / "machine.jsonl")


@pytest.fixture(scope="module")
def trained(human: pl.DataFrame, machine: pl.DataFrame) -> tuple[ProvenanceModel, dict[str, Any]]:
    return train(human, machine.head(120), CFG, seed=3)


class FixedClassifier:
    """Stands in for a model whose verdict is ``p`` for every text (to test how evidence combines)."""

    def __init__(self, p: float) -> None:
        self.p = p
        self.info = {"version": 0}

    def predict(self, texts: pl.Series) -> np.ndarray:
        return np.full(texts.len(), self.p)


def fixed(p: float) -> ProvenanceModel:
    return cast(ProvenanceModel, FixedClassifier(p))


def evidence(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["signal"]: e for e in json.loads(row["evidence"])}


def one(human: pl.DataFrame, source: str) -> pl.DataFrame:
    return human.filter(pl.col("source") == source).head(1)


def test_pre_cutoff_document_from_trusted_source_scores_high_when_classifier_is_unsure_or_wrong(
    human: pl.DataFrame,
) -> None:
    kjv = one(human, "bible-kjv")
    assert kjv["created_at"][0] == "1611"
    unsure = score(kjv, CFG, fixed(0.5)).row(0, named=True)
    assert unsure["p_human"] > 0.99
    ev = evidence(unsure)
    assert ev["created_at"]["log_odds"] == CFG.date_before_cutoff
    assert ev["source"]["detail"].startswith("archival")
    wrong = score(kjv, CFG, fixed(0.02)).row(0, named=True)
    assert wrong["p_human"] > AdmissionConfig().min_p_human


def test_classifier_decides_when_metadata_is_silent(machine: pl.DataFrame) -> None:
    bare = machine.select("text").head(3)
    assert score(bare, CFG, fixed(0.9))["p_human"].to_list() == pytest.approx([0.9] * 3, abs=1e-4)
    assert score(bare, CFG, fixed(0.1))["p_human"].to_list() == pytest.approx([0.1] * 3, abs=1e-4)


@pytest.mark.parametrize(
    "meta",
    [
        {"html_generator": "ChatGPT article writer 2.1"},
        {"ai_generated": True},
        {"generator": "SmolLM2-135M-Instruct-Q4_1"},
        {
            "c2pa": {
                "assertions": [
                    {"digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}
                ]
            }
        },
    ],
)
def test_disclosed_machine_document_scores_low_whatever_the_classifier_says(
    machine: pl.DataFrame, meta: dict[str, Any]
) -> None:
    doc = (
        machine.head(1)
        .select("text")
        .with_columns(pl.lit("fortunes").alias("source"), pl.lit(json.dumps(meta)).alias("meta"))
    )
    row = score(doc, CFG, fixed(0.999)).row(0, named=True)
    assert row["p_human"] < 0.05
    assert min(e["log_odds"] for e in json.loads(row["evidence"])) == CFG.disclosed_machine


def test_wordpress_generator_is_not_a_disclosure(human: pl.DataFrame) -> None:
    doc = one(human, "python-docs").with_columns(pl.lit('{"html_generator": "WordPress 6.2"}').alias("meta"))
    ev = evidence(score(doc, CFG, None).row(0, named=True))
    assert ev["meta.html_generator"]["log_odds"] == 0.0
    assert ev["classifier"]["detail"].startswith("no model")


def test_bogus_and_future_dates_are_ignored_with_evidence_saying_so(human: pl.DataFrame) -> None:
    mail = one(human, "spamassassin")
    cases = {
        "0102-02-02T11:39:51+02:00": "ignored: year 0102",
        "2999-01-01": "ignored: in the future",
        "2023-09-01": "ignored: after fetched_at",
        "last tuesday": "ignored: not a date",
    }
    docs = pl.concat(
        [
            mail.with_columns(pl.lit(value).alias("created_at"), pl.lit("2023-06-10T00:00:00Z").alias("fetched_at"))
            for value in cases
        ]
    )
    scored = score(docs, CFG.model_copy(update={"as_of": None}), fixed(0.5))
    for row, detail in zip(scored.iter_rows(named=True), cases.values(), strict=True):
        created = evidence(row)["created_at"]
        assert created["detail"].startswith(detail)
        assert created["log_odds"] == 0.0
    # a credible date before the cutoff counts once, even when several fields say so
    dated = mail.with_columns(
        pl.lit("2002-08-22").alias("created_at"),
        pl.lit("2019-01-01T00:00:00Z").alias("fetched_at"),
        pl.lit('{"http_last_modified": "Sat, 10 Jun 2017 00:00:00 GMT"}').alias("meta"),
    )
    ev = json.loads(score(dated, CFG, fixed(0.5))["evidence"][0])
    dates = [e for e in ev if e["signal"] in ("created_at", "fetched_at", "http_last_modified")]
    assert len(dates) == 3
    assert sorted(e["log_odds"] for e in dates) == [0.0, 0.0, CFG.date_before_cutoff]


def test_evidence_sums_to_the_score(human: pl.DataFrame, trained: tuple[ProvenanceModel, dict[str, Any]]) -> None:
    model, _ = trained
    scored = score(human.head(50).lazy(), CFG, model)
    for row in scored.iter_rows(named=True):
        total = math.fsum(e["log_odds"] for e in json.loads(row["evidence"]))
        assert 1 / (1 + math.exp(-total)) == pytest.approx(row["p_human"])
    assert scored["p_human"].dtype == pl.Float64
    with pytest.raises(SchemaError, match="'text'"):
        score(human.drop("text"), CFG, model)


def test_trained_classifier_separates_sample_texts(
    human: pl.DataFrame, machine: pl.DataFrame, trained: tuple[ProvenanceModel, dict[str, Any]]
) -> None:
    model, metrics = trained
    assert metrics["held_out"]["roc_auc"] > 0.8
    unseen_machine = model.predict(machine["text"][150:])
    humans = model.predict(human.filter(pl.col("source").is_in(["sotu", "moby-dick", "jargon-file"]))["text"])
    assert np.median(humans) > np.median(unseen_machine)


def test_scores_are_reproducible_with_a_fixed_seed(human: pl.DataFrame, machine: pl.DataFrame) -> None:
    cfg = ProvenanceConfig(train_per_source=5)
    first, _ = train(human, machine.head(60), cfg, seed=11)
    second, _ = train(human, machine.head(60), cfg, seed=11)
    docs = human.head(40)
    assert score(docs, cfg, first)["p_human"].to_list() == score(docs, cfg, second)["p_human"].to_list()


def test_models_are_versioned_and_tampering_is_refused(
    tmp_path: Path, human: pl.DataFrame, trained: tuple[ProvenanceModel, dict[str, Any]]
) -> None:
    root = DataRoot.at(tmp_path / "home")
    with pytest.raises(NotFoundError, match="no provenance model"):
        load_model(root)
    model, metrics = trained
    assert (save_model(root, model, metrics), save_model(root, model, metrics)) == (1, 2)
    docs = human.head(20)
    expected = score(docs, CFG, model)["p_human"].to_list()
    assert score(docs, CFG, load_model(root))["p_human"].to_list() == expected
    assert load_model(root).info["version"] == 2
    assert load_model(root, 1).info["version"] == 1
    with pytest.raises(NotFoundError, match="v7"):
        load_model(root, 7)

    v2 = root.path("models", "provenance", "v2")
    blob = bytearray((v2 / MODEL_FILE).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (v2 / MODEL_FILE).write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="sha256"):
        load_model(root)

    # a file that matches its manifest but smuggles in a type outside the allow-list
    import hashlib
    import os

    v1 = root.path("models", "provenance", "v1")
    sio.dump({"classifier": model.classifier, "calibrator": os.system}, v1 / MODEL_FILE)
    manifest = json.loads((v1 / MANIFEST_FILE).read_text())
    manifest["sha256"] = hashlib.sha256((v1 / MODEL_FILE).read_bytes()).hexdigest()
    (v1 / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="allow-list"):
        load_model(root, 1)


def test_registry_override_from_the_data_root(tmp_path: Path, human: pl.DataFrame) -> None:
    root = DataRoot.at(tmp_path / "home")
    default = load_registry(root)
    assert len(default.entries) == 20 and default.entries["fortunes"].trust == "trusted"
    root.path("sources.yaml").write_text(
        "version: 1\nsources:\n  fortunes: {trust: synthetic}\n  my-blog: {trust: archival, domains: [blog.example.org]}\n"
    )
    registry = load_registry(root)
    assert registry.entries["fortunes"].trust == "synthetic"
    assert registry.entries["fortunes"].notes == default.entries["fortunes"].notes  # merged field by field
    docs = pl.concat(
        [
            one(human, "fortunes"),
            one(human, "fortunes").with_columns(
                pl.lit("scraped").alias("source"), pl.lit("https://blog.example.org/a").alias("url")
            ),
        ]
    )
    rows = score(docs, CFG, fixed(0.5), registry).to_dicts()
    assert evidence(rows[0])["source"]["log_odds"] == CFG.trust_log_odds["synthetic"]
    assert "matched by domain as my-blog" in evidence(rows[1])["source"]["detail"]
    root.path("sources.yaml").write_text("sources:\n  fortunes: {trust: very-much}\n")
    with pytest.raises(ConfigError, match=r"sources\.yaml: sources\.fortunes\.trust"):
        load_registry(root)


def test_cli_train_and_score_end_to_end(tmp_path: Path, human: pl.DataFrame, machine: pl.DataFrame) -> None:
    home = str(tmp_path / "home")
    human_file, machine_file = tmp_path / "human.parquet", tmp_path / "machine.jsonl"
    human.head(240).write_parquet(human_file)
    machine.head(80).write_ndjson(machine_file)
    runner = CliRunner()
    trained = runner.invoke(
        app, ["train", "--human", str(human_file), "--machine", str(machine_file), "--home", home, "--json"]
    )
    assert trained.exit_code == 0, trained.output
    payload = json.loads(trained.stdout)
    assert payload["model_version"] == 1 and "roc_auc" in payload["metrics"]["held_out"]

    out = tmp_path / "scored.parquet"
    scored = runner.invoke(app, ["score", str(SAMPLE / "machine.jsonl"), "--out", str(out), "--home", home, "--json"])
    assert scored.exit_code == 0, scored.output
    summary = json.loads(scored.stdout)
    assert summary["documents"] == 200 and summary["model_version"] == 1
    frame = pl.read_parquet(out)
    assert {"id", "text", "task_style", "p_human", "evidence"} <= set(frame.columns)
    assert "label" not in frame.columns

    missing = runner.invoke(
        app, ["score", str(machine_file), "--out", str(out), "--home", home, "--model-version", "9"]
    )
    assert missing.exit_code == 1 and "v9 does not exist" in missing.output


def test_character_model_of_human_text(human: pl.DataFrame) -> None:
    from tasks.core.provenance.charlm import CharNgramCounts

    texts = [t for t in human["text"].to_list() if len(t) > 300][:40]
    seen, held = texts[:30], texts[30:]
    both = CharNgramCounts.of(seen + held, bits=18)
    # removing a subset's counts gives exactly the model that never saw it (out-of-fold features)
    alone = CharNgramCounts.of(seen, bits=18)
    without = both.without(CharNgramCounts.of(held, bits=18))
    assert np.array_equal(without.counts, alone.counts) and without.total == alone.total
    # English the model has not seen has far fewer improbable characters than the same letters shuffled
    rng = np.random.default_rng(0)
    shuffled = ["".join(rng.permutation(list(t))) for t in held]
    features = alone.features(held + shuffled + [""], window=128, smoothing=2.0, rare=0.01)
    assert features.shape == (len(held) * 2 + 1, 2)
    assert features[: len(held), 1].mean() < features[len(held) : -1, 1].mean() / 2
    assert features[-1].tolist() == [0.0, 0.0]  # an empty text has no surprise at all
