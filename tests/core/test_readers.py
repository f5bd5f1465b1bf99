"""Every reader on real files: good records come through, bad ones are rejected with a reason."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from tasks.core.checksums import sha256_file
from tasks.core.config import IngestConfig
from tasks.core.ingest import FileOutcome, read_items
from tasks.core.ingest.items import Fields, Rejection
from tasks.core.ledger import InputFile
from tests.conftest import SAMPLE

INBOX = SAMPLE / "inbox"


def read(path: Path, cfg: IngestConfig | None = None) -> tuple[list[Fields], list[Rejection], FileOutcome]:
    source = InputFile(path, sha256_file(path), path.stat().st_size)
    outcome = FileOutcome(source)
    items = list(read_items(source, cfg or IngestConfig(), outcome))
    return (
        [i for i in items if isinstance(i, Fields)],
        [i for i in items if isinstance(i, Rejection)],
        outcome,
    )


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_jsonl_gzip_and_zstd_give_the_same_records_as_their_plain_form(tmp_path: Path) -> None:
    good, bad, outcome = read(INBOX / "docs-a.jsonl")
    assert (outcome.format, len(good), bad) == ("jsonl", 428, [])
    assert good[0].position == 1 and good[-1].position == 428
    plain = (INBOX / "docs-a.jsonl").read_bytes()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(plain))
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(plain))
    for name in ("a.jsonl.gz", "a.jsonl.zst"):
        again, _, _ = read(tmp_path / name)
        assert [f.fields for f in again] == [f.fields for f in good]


def test_bad_lines_are_rejected_one_by_one_and_good_lines_kept() -> None:
    good, bad, _ = read(INBOX / "bad-lines.jsonl")
    assert {(r.position, r.reason) for r in bad} == {
        (3, "invalid_json"),
        (9, "invalid_utf8"),
        (13, "not_an_object"),
    }
    assert all(r.original for r in bad)
    # Lines 5, 7 and 11 parse as objects; the batch builder rejects their text (see test_ingest).
    assert [f.position for f in good] == [1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 15, 16, 17]


def test_truncated_gzip_keeps_every_complete_record_before_the_break() -> None:
    good, bad, _ = read(INBOX / "truncated.jsonl.gz")
    assert len(good) == 19
    assert [(r.reason, r.position) for r in bad] == [("truncated_input", 20)]


def test_corrupt_gzip_is_reported_after_the_good_part(tmp_path: Path) -> None:
    data = bytearray(gzip.compress((INBOX / "docs-a.jsonl").read_bytes()))
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    path = tmp_path / "corrupt.jsonl.gz"
    path.write_bytes(bytes(data))
    good, bad, _ = read(path)
    assert 0 < len(good) < 428
    assert [r.reason for r in bad][-1] in ("corrupt_compression", "invalid_json", "invalid_utf8")


def test_decompression_bomb_is_stopped_by_the_guard(tmp_path: Path) -> None:
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as f:
        line = b'{"text": "' + b"a" * 1000 + b'"}\n'
        f.write(line * 20_000)  # 20 MB that compress ~1000x
    cfg = IngestConfig(bomb_ratio_floor_bytes=1 << 20, max_compression_ratio=100)
    good, bad, _ = read(path, cfg)
    assert bad[-1].reason == "decompression_bomb"
    assert len(good) < 20_000
    capped = IngestConfig(max_decompressed_bytes=100_000)
    _, bad, _ = read(path, capped)
    assert bad[-1].reason == "decompression_bomb"


def test_oversized_line_is_rejected_and_the_next_line_still_read(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"text": "x" * 5000}) + "\n" + json.dumps({"text": "small one"}) + "\n")
    good, bad, _ = read(path, IngestConfig(max_record_bytes=1000))
    assert [(r.position, r.reason) for r in bad] == [(1, "record_too_large")]
    assert [f.fields["text"] for f in good] == ["small one"]


def test_csv_with_multiline_fields_matches_the_source_records() -> None:
    good, bad, outcome = read(INBOX / "docs-c.csv")
    assert (outcome.format, len(good), bad) == ("csv", 324, [])
    assert any("\n" in f.fields["text"] for f in good)


def test_csv_rows_with_wrong_field_count_or_bad_bytes_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b'text,source\n"hello there friend",a\nonly-one-field\n"caf\xe9",b\n"fine row here",c\n')
    good, bad, _ = read(path)
    assert [f.fields["text"] for f in good] == ["hello there friend", "fine row here"]
    assert [(r.position, r.reason) for r in bad] == [(2, "malformed_csv"), (3, "invalid_utf8")]


def test_parquet_and_json_array() -> None:
    good, bad, outcome = read(INBOX / "docs-d.parquet")
    assert (outcome.format, len(good), bad) == ("parquet", 722, [])
    good, bad, outcome = read(INBOX / "docs-e.json")
    assert (outcome.format, len(good), bad) == ("json", 100, [])


def test_parquet_is_recognised_by_content_whatever_its_name(tmp_path: Path) -> None:
    path = tmp_path / "export.data"
    pq.write_table(pa.table({"text": ["one two three four", "five six seven"]}), path)
    good, _, outcome = read(path)
    assert outcome.format == "parquet" and len(good) == 2


def test_warc_pages_become_documents_with_url_and_crawl_date() -> None:
    good, bad, outcome = read(INBOX / "pages.warc.gz")
    assert (outcome.format, len(good), bad) == ("warc", 40, [])
    first = good[0].fields
    assert first["url"].startswith("https://")
    assert first["fetched_at"].startswith("2023-06-10")
    assert len(first["text"]) > 200 and "<div" not in first["text"]
    assert "warc_record_id" in first["meta"]


def test_html_file_main_text_is_extracted() -> None:
    good, bad, outcome = read(INBOX / "html" / "python-bytearray.html")
    assert outcome.format == "html" and bad == []
    assert "bytearray" in good[0].fields["text"]
    assert "<html" not in good[0].fields["text"].lower()


def test_html_without_text_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "blank.html"
    path.write_text("<html><head><title>x</title></head><body><script>var a=1;</script></body></html>")
    good, bad, _ = read(path)
    assert good == [] and [r.reason for r in bad] == ["no_text_extracted"]


def test_plain_text_file_is_one_document_and_non_utf8_is_rejected(tmp_path: Path) -> None:
    good, _, _ = read(next((INBOX / "notes").glob("*.txt")))
    assert len(good) == 1 and len(good[0].fields["text"]) > 1000
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait".encode("latin-1"))
    _, bad, _ = read(path)
    assert [r.reason for r in bad] == ["invalid_utf8"]


@pytest.mark.parametrize(("name", "reason"), [("empty.jsonl", "empty_file"), ("mystery.bin", "unknown_format")])
def test_unusable_files_are_rejected_whole(name: str, reason: str) -> None:
    good, bad, _ = read(INBOX / name)
    assert good == [] and [r.reason for r in bad] == [reason]
    assert "supported" in bad[0].message or reason == "empty_file"


def test_stream_wrapper_reads_across_gzip_members(tmp_path: Path) -> None:
    path = tmp_path / "multi.jsonl.gz"
    buf = io.BytesIO()
    for i in range(3):
        buf.write(gzip.compress(json.dumps({"text": f"member number {i}"}).encode() + b"\n"))
    path.write_bytes(buf.getvalue())
    good, bad, _ = read(path)
    assert [f.fields["text"] for f in good] == [f"member number {i}" for i in range(3)] and bad == []
