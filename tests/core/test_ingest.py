"""Ingesting the mixed-format sample inbox into real Delta tables."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tasks.core import pipeline
from tasks.core.clean.normalize import doc_id_of
from tasks.core.config import FieldMap, IngestConfig
from tasks.core.ingest import ingest_files
from tasks.core.ledger import list_inputs, new_inputs
from tasks.core.storage import DataRoot

EXPECTED_QUARANTINE = {
    "invalid_json": 1,
    "missing_text": 1,
    "wrong_type": 1,
    "invalid_utf8": 1,
    "nul_bytes": 1,
    "not_an_object": 1,
    "empty_file": 1,
    "unknown_format": 1,
    "truncated_input": 1,
}


def test_sample_inbox_every_good_record_in_raw_every_bad_one_quarantined(sample_inbox: Path, root: DataRoot) -> None:
    result = ingest_files(root, "run-1", list_inputs([sample_inbox]), IngestConfig())
    # 2,990 structured + 5 notes + 40 WARC + 5 HTML + 10 good bad-lines + 19 before the truncation
    assert result.records == 3069
    assert result.quarantine_reasons == EXPECTED_QUARANTINE
    raw = root.scan("raw").collect()
    assert raw.height == 3069 and raw["record_id"].n_unique() == 3069
    assert raw.filter(pl.col("text").str.len_chars() == 0).height == 0
    assert (raw, result.raw.version) and root.ref("raw").version == 0  # one commit for the whole run
    quarantine = root.scan("quarantine").collect()
    assert quarantine.height == 9
    bad_lines = quarantine.filter(pl.col("input").str.ends_with("bad-lines.jsonl")).sort("position")
    assert bad_lines.select("position", "reason").rows() == [
        (3, "invalid_json"),
        (5, "missing_text"),
        (7, "wrong_type"),
        (9, "invalid_utf8"),
        (11, "nul_bytes"),
        (13, "not_an_object"),
    ]
    assert all("bad-lines.jsonl" in m for m in bad_lines["message"])


def test_canonical_columns_are_filled_from_the_input_fields(sample_inbox: Path, root: DataRoot) -> None:
    ingest_files(root, "r", list_inputs([sample_inbox / "docs-a.jsonl"]), IngestConfig())
    raw = root.scan("raw").collect()
    first_line = json.loads((sample_inbox / "docs-a.jsonl").read_text().splitlines()[0])
    row = raw.filter(pl.col("position") == 1).row(0, named=True)
    assert row["source"] == first_line["source"]
    assert row["url"] == first_line["url"]
    assert row["license"] == first_line["license"]
    assert row["doc_id"] == doc_id_of(first_line["text"])
    meta = json.loads(row["meta"])
    assert meta["id"] == first_line["id"] and meta["kind"] == first_line["kind"]


def test_doc_id_ignores_case_spacing_and_compatibility_forms() -> None:
    assert doc_id_of("Hello   World\r\n") == doc_id_of("hello world")
    assert doc_id_of("ﬁne print") == doc_id_of("fine print")  # NFKC folds the ligature
    assert doc_id_of("hello world") != doc_id_of("hello, world")


def test_languages_are_identified_only_where_missing(tmp_path: Path, root: DataRoot) -> None:
    path = tmp_path / "langs.jsonl"
    rows = [
        {"text": "The quick brown fox jumps over the lazy dog near the river bank."},
        {"text": "O rato roeu a roupa do rei de Roma e a rainha ficou muito zangada."},
        {"text": "Declared language wins over what the text looks like.", "lang": "xx"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    ingest_files(root, "r", list_inputs([path]), IngestConfig())
    assert root.scan("raw").sort("position").collect()["lang"].to_list() == ["en", "pt", "xx"]


def test_field_mapping_per_source(tmp_path: Path, root: DataRoot) -> None:
    path = tmp_path / "forum.jsonl"
    path.write_text(json.dumps({"source": "forum", "post_body": "A post about trains and stations.", "when": "2001"}))
    cfg = IngestConfig(sources={"forum": FieldMap(text=("post_body",), created_at=("when",))})
    result = ingest_files(root, "r", list_inputs([path]), cfg)
    assert result.records == 1
    row = root.scan("raw").collect().row(0, named=True)
    assert (row["text"], row["created_at"]) == ("A post about trains and stations.", "2001")


def test_ledger_skips_seen_content_even_under_a_new_name(sample_inbox: Path, root: DataRoot) -> None:
    files = list_inputs([sample_inbox])
    ingest_files(root, "r1", files, IngestConfig())
    assert new_inputs(root, files) == []
    (sample_inbox / "renamed-copy.jsonl").write_bytes((sample_inbox / "docs-a.jsonl").read_bytes())
    (sample_inbox / "fresh.jsonl").write_text(json.dumps({"text": "A brand new document arrives today."}))
    fresh = new_inputs(root, list_inputs([sample_inbox]))
    assert [f.path.name for f in fresh] == ["fresh.jsonl"]


def test_ingest_stage_is_safe_to_retry_within_a_run(sample_inbox: Path, root: DataRoot) -> None:
    files = list_inputs([sample_inbox / "docs-a.jsonl"])
    first = pipeline.ingest_stage(root, "run-x", files, IngestConfig())
    again = pipeline.ingest_stage(root, "run-x", files, IngestConfig())
    assert (first.records, again.records) == (428, 0)
    assert root.scan("raw").collect().height == 428
