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
from tasks.core.ingest.compression import DecompressingStream, open_input
from tasks.core.ingest.items import Columns, Fields, Rejection, StreamBroken
from tasks.core.ingest.readers import jsonl
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


class _EofCounter(io.BytesIO):
    """A real byte stream that fails the test when it is read at its end more than a few times (a reader
    that loops at end of input would otherwise hang the suite)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.eof_reads = 0

    def read1(self, size: int | None = -1, /) -> bytes:
        data = super().read1(size)
        if not data:
            self.eof_reads += 1
            assert self.eof_reads <= 3, "the reader keeps reading at end of input"
        return data


@pytest.mark.parametrize("size", ["empty", "exactly-one-block", "block-and-a-line"])
def test_block_reader_ends_at_end_of_input_on_a_block_boundary(size: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", 4096)  # the boundary case, at a small block size
    line = json.dumps({"text": "a line of text " + "x" * 80}).encode() + b"\n"
    lines = 4096 // len(line)
    data = line * lines
    data += b" " * (4096 - len(data) - 1) + b"\n"  # a blank line pads the file to exactly one block
    data = {"empty": b"", "exactly-one-block": data, "block-and-a-line": data + line}[size]
    stream = _EofCounter(data)
    items = list(jsonl.read_jsonl_blocks(stream, IngestConfig()))
    records = sum(i.table.num_rows if isinstance(i, Columns) else isinstance(i, Fields) for i in items)
    assert records == {"empty": 0, "exactly-one-block": lines, "block-and-a-line": lines + 1}[size]
    assert not [i for i in items if isinstance(i, Rejection)]


def test_zstd_bomb_guard_stops_within_a_slice_of_the_limit(tmp_path: Path) -> None:
    """zstd expands 64 kB of RLE blocks to gigabytes: the guard must run on small slices, not whole chunks."""
    compressor = zstandard.ZstdCompressor().compressobj()
    zeros = bytes(1 << 20)
    path = tmp_path / "bomb.jsonl.zst"
    path.write_bytes(b"".join(compressor.compress(zeros) for _ in range(512)) + compressor.flush())  # 512 MiB
    cfg = IngestConfig(max_decompressed_bytes=8 << 20)
    stream, kind = open_input(path, cfg)
    with stream, pytest.raises(StreamBroken) as broken:
        while stream.read(1 << 20):
            pass
    assert kind == "zstd" and broken.value.reason == "decompression_bomb"
    decoder = getattr(stream, "raw", None)
    assert isinstance(decoder, DecompressingStream)
    assert decoder.decompressed < (8 << 20) + (16 << 20)  # one 512-byte slice expands at most ~16 MiB


def test_json_array_element_too_deep_for_json_is_quarantined_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" + b"[" * 300 + b"1" + b"]" * 300 + b', {"text": "kept"}]')
    good, bad, _ = read(path)
    assert [f.fields["text"] for f in good] == ["kept"]
    assert [(r.position, r.reason) for r in bad] == [(1, "not_an_object")] and bad[0].original.startswith(b"[[[")


def test_byte_order_mark_is_not_part_of_the_first_record(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfa text with a byte-order mark")
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbftext,source\nfirst row,s\n")
    good, bad, _ = read(tmp_path / "bom.txt")
    assert bad == [] and good[0].fields["text"] == "a text with a byte-order mark"
    good, bad, _ = read(tmp_path / "bom.csv")
    assert bad == [] and good[0].fields == {"text": "first row", "source": "s"}


def test_parquet_row_group_past_the_decompression_guard_is_quarantined_undecoded(tmp_path: Path) -> None:
    """The guard is read from the footer: the bomb's row group is never decoded, the other groups are read."""
    texts = ["first group one", "first group two", "b" * (4 << 20), "second group two"]
    path = tmp_path / "bomb.parquet"
    pq.write_table(pa.table({"text": texts}), path, row_group_size=2, compression="zstd")
    cfg = IngestConfig(bomb_ratio_floor_bytes=1 << 20, max_compression_ratio=100)
    good, bad, _ = read(path, cfg)
    assert [f.fields["text"] for f in good] == texts[:2]
    assert [(r.position, r.reason) for r in bad] == [(3, "decompression_bomb"), (4, "decompression_bomb")]
    assert "row group 1" in bad[0].message and "'text'" in bad[0].message
    good, bad, _ = read(path)  # the default guard: 4 MiB is no bomb
    assert len(good) == 4 and bad == []


def test_a_jsonl_line_starting_with_the_parquet_magic_stays_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(b'PAR1\n{"text": "a real record"}\n')
    good, bad, outcome = read(path)
    assert outcome.format == "jsonl"
    assert [f.fields["text"] for f in good] == ["a real record"]
    assert [(r.position, r.reason) for r in bad] == [(1, "invalid_json")]
