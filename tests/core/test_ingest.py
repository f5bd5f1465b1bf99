"""Ingesting the mixed-format sample inbox into real Delta tables."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xxhash
from deltalake import DeltaTable

from tasks.core import pipeline
from tasks.core.checksums import sha256_file
from tasks.core.clean.normalize import doc_id_of
from tasks.core.config import FieldMap, IngestConfig
from tasks.core.ingest import FileOutcome, delta_parts, driver, ingest_files, read_items, readers, records
from tasks.core.ingest.items import Columns, Fields
from tasks.core.ledger import InputFile, list_inputs, new_inputs
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


# ---------------------------------------------------------------- stored text and doc_id stay as defined


def _reference(texts: list[str]) -> tuple[list[str], list[str]]:
    """The definition the stored ``text`` and ``doc_id`` must keep (the original, unoptimised expressions):
    text = NFC, ``\\r\\n?`` -> ``\\n``, stripped; doc_id = xxh3-128 of NFKC + lower case + whitespace runs
    collapsed to one space + stripped, of that text."""
    stored = pl.Series(texts, dtype=pl.String).str.normalize("NFC").str.replace_all("\r\n?", "\n").str.strip_chars()
    key = stored.str.normalize("NFKC").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    return stored.to_list(), [xxhash.xxh3_128_hexdigest(k.encode("utf-8")) for k in key.to_list()]


def _assert_raw_matches_reference(raw: pl.DataFrame, originals: dict[tuple[str, int], str]) -> None:
    rows = raw.select("input", "position", "text", "doc_id").rows()
    assert len(rows) == len(originals)
    texts, ids = _reference([originals[(name, position)] for name, position, _, _ in rows])
    assert [r[2] for r in rows] == texts
    assert [r[3] for r in rows] == ids


TRICKY = [
    "Plain ASCII text,   with  runs\tof\x0bwhitespace\r\nand CRLF\rline ends.  ",
    "ﬁne print: \uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 and ligatures ﬂow",  # NFKC folds these
    "Cafe\u0301 (combining acute) vs Café, Å vs A\u030a, ΣΊΣΥΦΟΣ final sigma",
    "İstanbul DİYARBAKIR ǅemal ẞ straße",  # lower case changes length
    "no\u00a0break\u2002en space\u3000ideographic\u2028line sep\u2029para\u0085nel\u200bzwsp",
    "\ufeffbyte order mark and \x1c\x1d\x1e\x1f separators",
    "   \u00a0  only the edges are spaces \u00a0\u3000 ",
    "emoji 😀 and \U0001f468\u200d\U0001f469\u200d\U0001f467 family, Hangul ᄀ ᅡ ᆨ jamo",
    "x",
]


def test_stored_text_and_doc_id_keep_their_definition_on_tricky_unicode(tmp_path: Path, root: DataRoot) -> None:
    path = tmp_path / "tricky.jsonl"
    path.write_text("\n".join(json.dumps({"text": t}) for t in TRICKY) + "\n", encoding="utf-8")
    ingest_files(root, "r", list_inputs([path]), IngestConfig())
    raw = root.scan("raw").collect()
    _assert_raw_matches_reference(raw, {(str(path), i): t for i, t in enumerate(TRICKY, start=1)})
    assert [doc_id_of(t) for t in TRICKY] == _reference(TRICKY)[1]


def test_stored_text_and_doc_id_keep_their_definition_on_the_sample_inbox(sample_inbox: Path, root: DataRoot) -> None:
    files = list_inputs([sample_inbox])
    ingest_files(root, "r", files, IngestConfig())
    originals = {}
    for source in files:
        for item in read_items(source, IngestConfig(), FileOutcome(source)):
            if isinstance(item, Fields) and isinstance(item.fields.get("text"), str) and item.fields["text"].strip():
                originals[(source.name, item.position)] = item.fields["text"]
    raw = root.scan("raw").collect()
    originals = {k: v for k, v in originals.items() if "\x00" not in v}
    _assert_raw_matches_reference(raw, originals)


def test_stored_text_and_doc_id_keep_their_definition_on_the_corpus(
    corpus: Path, tmp_path: Path, root: DataRoot
) -> None:
    human = pl.read_parquet(corpus / "human.parquet")
    sample = tmp_path / "human_sample.jsonl.gz"
    sample.write_bytes(gzip.compress(human.head(20_000).write_ndjson().encode("utf-8")))
    files = list_inputs([corpus / "human.parquet", sample])
    ingest_files(root, "r", files, IngestConfig())
    raw = root.scan("raw").collect()
    texts = human["text"].to_list()
    originals = {
        (f.name, i): t
        for f, n in zip(files, (len(texts), 20_000), strict=True)
        for i, t in enumerate(texts[:n], start=1)
        if t.strip() and "\x00" not in t
    }
    _assert_raw_matches_reference(raw, originals)


# ---------------------------------------------------------------- the column-wise fast path = the per-record path


def _raw_of(root: DataRoot, path: Path, cfg: IngestConfig, columnar: bool, monkeypatch: pytest.MonkeyPatch) -> tuple:
    if not columnar:
        monkeypatch.setattr(readers, "BLOCK_READERS", {})
        monkeypatch.setattr(driver, "BLOCK_READERS", {})
    result = ingest_files(root, "r", list_inputs([path]), cfg)
    monkeypatch.undo()
    raw = root.scan("raw").collect().drop("run_id").sort("record_id")
    quarantine = root.scan("quarantine").collect().drop("quarantined_at").sort("position")
    return result.quarantine_reasons, raw, quarantine


def _both_paths(tmp_path: Path, path: Path, monkeypatch: pytest.MonkeyPatch, cfg: IngestConfig | None = None) -> None:
    cfg = cfg or IngestConfig()
    fast = _raw_of(DataRoot.at(tmp_path / "fast"), path, cfg, True, monkeypatch)
    slow = _raw_of(DataRoot.at(tmp_path / "slow"), path, cfg, False, monkeypatch)
    assert fast[0] == slow[0]
    assert fast[1].equals(slow[1])  # every column, meta byte for byte
    assert fast[2].equals(slow[2])


MIXED: list[dict[str, Any]] = [
    {"text": "A plain first record with a url.", "url": "https://www.Example.org/a", "id": 1, "kind": "x"},
    {"content": "Text under another name, declared meta.", "meta": '{"b": 2, "a": [1, 2]}', "origin": "http://o.net"},
    {"text": "   ", "id": 3},
    {"id": 4, "kind": "no text at all"},
    {"text": "nul \u0000 inside", "id": 5},
    {"text": "both url and origin", "url": "https://u.example", "origin": "https://loses.example", "id": 6},
    {"text": "meta that is not json", "meta": "just words", "source": "own-source", "lang": "de"},
    {"text": "meta that is a json list", "meta": "[1, 2]", "created_at": "2020-01-02T03:04:05"},
    {"text": "separators only around \x1c\x1f", "id": 9},
    {"text": "\x1c\x1d\u2028\u00a0 "},
    {"text": "a long one " * 300, "id": 11, "flag": True},
]


def test_jsonl_blocks_give_the_per_record_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in MIXED) + "\n")
    assert all(isinstance(i, Columns) for i in read_items(*_source(path), columnar=True))  # the fast path ran
    _both_paths(tmp_path, path, monkeypatch)
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n".join(json.dumps(r) for r in MIXED) + "\n\n" + json.dumps({"text": "after a blank line"}))
    _both_paths(tmp_path / "blank", blank, monkeypatch)
    big = tmp_path / "big.jsonl"
    big.write_text(json.dumps({"text": "x " * 3000}) + "\n" + "\n".join(json.dumps(r) for r in MIXED))
    _both_paths(tmp_path / "big", big, monkeypatch, IngestConfig(max_record_bytes=5000))


def test_jsonl_blocks_fall_back_line_by_line_on_bad_lines(sample_inbox: Path, tmp_path: Path, monkeypatch) -> None:
    for name in ("bad-lines.jsonl", "truncated.jsonl.gz", "docs-a.jsonl", "docs-b.jsonl.gz", "docs-f.jsonl.zst"):
        _both_paths(tmp_path / name, sample_inbox / name, monkeypatch)


def _source(path: Path) -> tuple[InputFile, IngestConfig, FileOutcome]:
    source = InputFile(path, sha256_file(path), path.stat().st_size)
    return source, IngestConfig(), FileOutcome(source)


def test_parquet_blocks_give_the_per_record_result(sample_inbox: Path, tmp_path: Path, monkeypatch) -> None:
    assert all(isinstance(i, Columns) for i in read_items(*_source(sample_inbox / "docs-d.parquet"), columnar=True))
    _both_paths(tmp_path / "d", sample_inbox / "docs-d.parquet", monkeypatch)
    path = tmp_path / "mixed.parquet"
    rows = [{k: (v if k in ("id", "flag") else (None if v is None else str(v))) for k, v in r.items()} for r in MIXED]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=4)
    _both_paths(tmp_path / "m", path, monkeypatch)
    _both_paths(tmp_path / "s", path, monkeypatch, IngestConfig(sources={"own-source": FieldMap(text=("content",))}))


def test_blank_text_check_is_pythons_strip() -> None:
    texts = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    blank = pl.Series(texts).str.contains(records._BLANK).to_list()
    assert blank == [not t.strip() for t in texts]


def test_corpus_through_both_paths(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    part = tmp_path / "part.parquet"
    pl.read_parquet(corpus / "human.parquet").head(15_000).write_parquet(part)
    _both_paths(tmp_path / "p", part, monkeypatch)


def test_a_run_in_many_parquet_parts_is_still_one_commit(
    sample_inbox: Path, root: DataRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The raw writer's parts (tiny here, so there are many) land in one Delta commit per run, readable by
    deltalake and Polars alike, and a second run appends to the existing table the same way."""
    monkeypatch.setattr(delta_parts, "PART_BYTES", 1 << 20)
    first = ingest_files(root, "run-1", list_inputs([sample_inbox]), IngestConfig())
    second = ingest_files(root, "run-2", list_inputs([sample_inbox / "docs-a.jsonl"]), IngestConfig())
    assert (first.raw.version, second.raw.version) == (0, 1)
    table = DeltaTable(root.uri("raw"))
    assert [h["operation"] for h in table.history()] == ["WRITE", "CREATE TABLE"]
    files = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    assert len([f for f in files if f["partition.run_id"] == "run-1"]) > 2
    assert sum(f["num_records"] for f in files) == first.records + second.records
    raw = root.scan("raw").collect()
    assert raw.group_by("run_id").len().sort("run_id").rows() == [("run-1", 3069), ("run-2", 428)]
    assert table.to_pyarrow_table().num_rows == raw.height
    assert root.history("raw")[0]["run_id"] == "run-2"


def test_a_run_that_fails_while_writing_leaves_no_rows_and_no_parts(
    sample_inbox: Path, root: DataRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_files(root, "run-1", list_inputs([sample_inbox / "docs-a.jsonl"]), IngestConfig())
    monkeypatch.setattr(delta_parts, "PART_BYTES", 1)  # a part per batch, so some are written before the failure
    calls = {"n": 0}
    real_flush = driver._flush

    def failing_flush(builder: Any, outcome: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real_flush(builder, outcome)

    monkeypatch.setattr(driver, "_flush", failing_flush)
    with pytest.raises(OSError, match="disk full"):
        ingest_files(root, "run-2", list_inputs([sample_inbox]), IngestConfig(batch_rows=200))
    assert calls["n"] == 3 and root.ref("raw").version == 0
    assert not list(Path(root.uri("raw")).glob("run_id=run-2/*.parquet"))
    assert root.scan("raw").collect()["run_id"].unique().to_list() == ["run-1"]
