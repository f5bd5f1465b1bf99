"""A bad-input corpus written by code: every supported format, plain / gzip / zstd, and the ways inputs go wrong.

:func:`build_corpus` writes the files into a folder and returns one :class:`Case` per file. A case knows,
by construction, what should become of every row it holds: kept in ``raw`` (:data:`RAW`), quarantined with
one of some reasons, or not a row at all (:data:`SKIP`, e.g. a blank line). Files that break part-way
(truncated or corrupt compression, bombs, whole-file limits) also name the file-level reasons that may
account for the rows after the break, and ``recoverable``: how many rows an independent decoder still reads
before the break (those must not be lost).

:func:`evaluate` checks what an ingest made of one case (``raw`` positions and texts, quarantine positions
and reasons) against that, row by row, so "nothing lost" is checked by our own count, not by the pipeline's.

The corpus is ingested with :data:`GUARD`, the limits it is designed around (small, so bombs and huge
records are small on disk and fast to make).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import random
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tasks.core.config import IngestConfig

MiB = 1 << 20
GUARD = IngestConfig(
    max_record_bytes=1 * MiB,
    max_file_bytes=4 * MiB,
    max_decompressed_bytes=64 * MiB,
    max_compression_ratio=100,
    bomb_ratio_floor_bytes=1 * MiB,
    quarantine_keep_bytes=4096,
)
HUGE = 2 * MiB  # a record over GUARD.max_record_bytes
RAW = "raw"
SKIP = "skip"  # not a row (a blank line, a header): neither kept nor quarantined
STREAM_BREAKS = frozenset({"truncated_input", "corrupt_compression", "decompression_bomb"})

Outcome = frozenset[str]


def outcome(*allowed: str) -> Outcome:
    return frozenset(allowed)


@dataclass(frozen=True)
class Case:
    """One generated input file and what must become of each of its rows (position ``i + 1`` is ``rows[i]``)."""

    name: str
    fault: str
    format: str
    compression: str
    file: str
    rows: tuple[Outcome, ...]
    breaks: Outcome = frozenset()  # file-level reasons that may account for the rows after a break
    must_break: bool = False  # the file-level rejection is required (empty files, bombs, truncation)
    recoverable: int = 0  # rows 1..recoverable are readable before the break: they must be accounted one by one
    markers: bool = True  # a kept row's text contains "#<position>#"
    # Rows after ``recoverable`` may be garbage decoded from the damage: deflate has no check before a gzip
    # member's CRC, so a damaged member decodes to the end. Those rows are not checked one by one; the file
    # must still end with exactly one file-level rejection from ``STREAM_BREAKS``.
    garbled_tail: bool = False
    known_bug: str | None = None  # fails today (``memory: ...``: accounted right, but over the memory bound)
    full_only: bool = False  # heavy: only with WELLSPRING_RELIABILITY_FULL=1

    @property
    def generated(self) -> int:
        """Rows we generated (blank lines and other non-rows excluded)."""
        return sum(1 for r in self.rows if r != outcome(SKIP))

    @property
    def expected_good(self) -> int:
        return sum(1 for r in self.rows if r == outcome(RAW))


@dataclass
class Verdict:
    """How one ingested case compares with what it should give."""

    case: str
    generated: int
    in_raw: int
    quarantine_rows: int
    covered_by_break: int
    lost: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "generated": self.generated,
            "in_raw": self.in_raw,
            "quarantine_rows": self.quarantine_rows,
            "covered_by_break": self.covered_by_break,
            "lost": self.lost,
            "problems": self.problems,
        }


def evaluate(case: Case, raw: Iterable[tuple[int, str]], quarantine: Iterable[tuple[int, str]]) -> Verdict:
    """Compare ``raw`` (position, text) and ``quarantine`` (position, reason) of one input with ``case``."""
    raw_rows = dict(raw)
    rejections = list(quarantine)
    problems: list[str] = []
    n = len(case.rows)
    per_row: dict[int, str] = {}
    breaks: list[tuple[int, str]] = []
    garbled = case.recoverable + 1 if case.garbled_tail else None
    for position, reason in rejections:
        if garbled is not None and position >= garbled and reason not in STREAM_BREAKS:
            continue  # a row decoded from the damage
        if 1 <= position <= n and reason in case.rows[position - 1] and position not in per_row:
            per_row[position] = reason
        elif reason in case.breaks:
            breaks.append((position, reason))
        else:
            problems.append(f"unexpected quarantine row at {position}: {reason}")
    if len(breaks) > 1:
        problems.append(f"more than one file-level rejection: {breaks}")
    if case.must_break and not breaks:
        problems.append(f"no file-level rejection ({'/'.join(sorted(case.breaks))})")
    broken_at = breaks[0][0] if breaks else None
    covered = lost = 0
    for position in range(1, n + 1):
        allowed = case.rows[position - 1]
        if allowed == outcome(SKIP):
            if position in raw_rows or position in per_row:
                problems.append(f"row {position} is not a record but was kept or quarantined")
            continue
        if garbled is not None and position >= garbled:
            covered += 1
            continue
        if position in raw_rows:
            if RAW not in allowed:
                problems.append(f"row {position} should be quarantined ({'/'.join(sorted(allowed))}) but is in raw")
            elif case.markers and f"#{position}#" not in raw_rows[position]:
                problems.append(f"row {position} in raw does not hold its own text (marker #{position}# missing)")
            if broken_at is not None and position >= broken_at:
                problems.append(f"row {position} in raw lies after the break at {broken_at}")
        elif position in per_row:
            pass
        elif broken_at is not None and position >= broken_at and position > case.recoverable:
            covered += 1
        else:
            lost += 1
            if lost <= 3:
                problems.append(f"row {position} lost: neither in raw nor quarantined ({'/'.join(sorted(allowed))})")
    if lost > 3:
        problems.append(f"{lost} rows lost in all")
    for position in raw_rows:
        if not 1 <= position <= n and (garbled is None or position < garbled):
            problems.append(f"raw holds a record at position {position}, which we never generated")
    return Verdict(case.name, case.generated, len(raw_rows), len(rejections), covered, lost, problems)


# ------------------------------------------------------------------------------------------- row texts


def text(tag: str, position: int, words: int = 12) -> str:
    """A plain human-looking text, unique per case and row, carrying the row's marker."""
    filler = " ".join(["rivers", "carry", "the", "memory", "of", "rain", "across", "old", "stone"] * 4)
    return f"{tag} record #{position}# {' '.join(filler.split()[:words])}."


def huge(position: int, size: int = HUGE) -> str:
    """``size`` characters that do not compress much (so a big record is not taken for a bomb), with a marker."""
    noise = base64.b64encode(hashlib.shake_256(f"huge {position}".encode()).digest(size * 3 // 4)).decode()
    return f"{noise[:size]} #{position}#"


def html_page(tag: str, position: int, paragraphs: int = 3) -> str:
    body = "".join(
        f"<p>{text(tag, position, 30)} Paragraph {k} tells how the town kept its wells clean through "
        f"dry summers and long winters, and why the people there still talk about it.</p>"
        for k in range(paragraphs)
    )
    return f"<!DOCTYPE html><html><head><title>{tag} {position}</title></head><body><article>{body}</article></body></html>"


def compress(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    return data


SUFFIX = {"plain": "", "gzip": ".gz", "zstd": ".zst"}


def decodable_prefix(data: bytes, kind: str) -> bytes:
    """What an independent decoder fed 512 bytes at a time recovers from damaged compressed ``data``."""
    decoder: Any = zlib.decompressobj(wbits=31) if kind == "gzip" else zstandard.ZstdDecompressor().decompressobj()
    out = []
    for i in range(0, len(data), 512):
        try:
            out.append(decoder.decompress(data[i : i + 512]))
        except (zlib.error, zstandard.ZstdError):
            break
    return b"".join(out)


def intact_prefix(original: bytes, decoded: bytes) -> bytes:
    """The start of ``decoded`` that equals ``original`` (a damaged stream may decode some garbage first)."""
    n = min(len(original), len(decoded))
    same = next((i for i in range(0, n, 4096) if original[i : i + 4096] != decoded[i : i + 4096]), n)
    while same < n and original[same] == decoded[same]:
        same += 1
    return decoded[:same]


# ------------------------------------------------------------------------------------------- builders


@dataclass
class _Rows:
    """Lines of a line-based file with what each should become."""

    lines: list[bytes] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, make: Callable[[int], bytes], *allowed: str) -> None:
        self.lines.append(make(len(self.lines) + 1))
        self.outcomes.append(outcome(*allowed))

    def data(self, newline: bytes = b"\n") -> bytes:
        return b"".join(line + newline for line in self.lines)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def _with_nested_meta(body: str, depth: int) -> bytes:
    """An object with ``text`` and a ``meta`` nested ``depth`` lists deep (written directly: too deep for json)."""
    return b'{"text": ' + _dumps(body) + b', "meta": ' + b"[" * depth + b'"leaf"' + b"]" * depth + b"}"


def jsonl_mixed(tag: str) -> _Rows:
    """Good rows between every kind of bad JSON Lines row."""
    r = _Rows()
    r.add(lambda p: _dumps({"text": text(tag, p)}), RAW)
    r.add(lambda p: b'{"text": "unterminated #' + str(p).encode(), "invalid_json")
    r.add(lambda p: _dumps({"content": text(tag, p), "source": "alt-field"}), RAW)
    r.add(lambda p: b'{"text": "caf\xe9 au lait #' + str(p).encode() + b'#"}', "invalid_utf8")
    r.add(lambda p: b"[1, 2, 3]", "not_an_object")
    r.add(lambda p: b'"just a string"', "not_an_object")
    r.add(lambda p: b"42", "not_an_object")
    r.add(lambda p: b"null", "not_an_object")
    r.add(lambda p: _dumps({"body2": text(tag, p)}), "missing_text")
    r.add(lambda p: _dumps({"text": None, "source": "x"}), "missing_text")
    r.add(lambda p: _dumps({"text": 123}), "wrong_type")
    r.add(lambda p: _dumps({"text": ["a", "list"]}), "wrong_type")
    r.add(lambda p: _dumps({"text": {"a": "dict"}}), "wrong_type")
    r.add(lambda p: _dumps({"text": True}), "wrong_type")
    r.add(lambda p: _dumps({"text": " \t \u3000 "}), "empty_text")
    r.add(lambda p: _dumps({"text": f"nul \x00 byte #{p}#"}), "nul_bytes")
    r.add(lambda p: b"", SKIP)  # a blank line is not a record
    r.add(
        lambda p: _dumps(
            {"text": text(tag, p), "url": 5, "created_at": {"y": 1}, "meta": "not json", "lang": None, "x": [1, 2]}
        ),
        RAW,
    )
    r.add(lambda p: _dumps({"text": huge(p)}), "record_too_large")
    r.add(lambda p: _dumps({"text": text(tag, p), "meta": _nested(100)}), RAW)
    r.add(lambda p: _with_nested_meta(text(tag, p), 2000), "invalid_json")
    r.add(lambda p: _dumps({"text": text(tag, p) + " ctrl \x01\x07\x1b and emoji \U0001f30a"}), RAW)
    r.add(lambda p: _dumps({"text": text(tag, p)}) + b"\r", RAW)  # a CRLF line ending
    r.add(lambda p: b'{"text": "lone surrogate \\ud800 #' + str(p).encode() + b'#"}', "invalid_json", RAW)
    r.add(lambda p: b"{" * 5000, "invalid_json")
    r.add(lambda p: _dumps({"text": text(tag, p)}), RAW)
    return r


def good_lines(tag: str, count: int, words: int = 40) -> _Rows:
    r = _Rows()
    for _ in range(count):
        r.add(lambda p: _dumps({"text": text(tag, p, words), "source": "bulk"}), RAW)
    return r


def csv_mixed(tag: str, delimiter: str) -> tuple[bytes, list[Outcome]]:
    """A CSV/TSV file (header ``text,source,url``) with good and bad rows; positions count data rows."""
    d = delimiter.encode()
    rows: list[tuple[Callable[[int], bytes], Outcome]] = [
        (lambda p: d.join([text(tag, p).encode(), b"src", f"https://example.org/{p}".encode()]), outcome(RAW)),
        (lambda p: f'"multi-line\nfield {text(tag, p)}"'.encode() + d + b"src" + d + b"u", outcome(RAW)),
        (lambda p: f"only one field #{p}#".encode(), outcome("malformed_csv")),
        (lambda p: d.join([text(tag, p).encode(), b"a", b"b", b"c"]), outcome("malformed_csv")),
        (lambda p: d.join([b"caf\xe9 #" + str(p).encode() + b"#", b"src", b"u"]), outcome("invalid_utf8")),
        (lambda p: d.join([b"", b"src", b"u"]), outcome("missing_text")),
        (lambda p: d.join([b"   ", b"src", b"u"]), outcome("empty_text")),
        (lambda p: d.join([f"nul \x00 byte #{p}#".encode(), b"src", b"u"]), outcome("nul_bytes")),
        (lambda p: b"", outcome(SKIP)),
        (lambda p: d.join([huge(p).encode(), b"src", b"u"]), outcome("record_too_large")),
        (lambda p: d.join([f'he said "hi" {text(tag, p)}'.encode(), b"src", b"u"]), outcome(RAW, "malformed_csv")),
        (lambda p: d.join([text(tag, p).encode(), b"src", b"u"]), outcome(RAW)),
        (lambda p: d.join([f'"never closed {text(tag, p)}'.encode(), b"src", b"u"]), outcome(RAW, "malformed_csv")),
    ]
    header = d.join([b"text", b"source", b"url"])
    body = [make(i + 1) for i, (make, _) in enumerate(rows)]
    return header + b"\n" + b"\n".join(body) + b"\n", [o for _, o in rows]


def parquet_mixed(tag: str) -> tuple[pa.Table, list[Outcome]]:
    texts: list[tuple[str | None, Outcome]] = [
        (text(tag, 1), outcome(RAW)),
        (None, outcome("missing_text")),
        ("", outcome("empty_text")),
        ("   ", outcome("empty_text")),
        ("nul \x00 byte #5#", outcome("nul_bytes")),
        (huge(6), outcome("record_too_large")),
        (text(tag, 7), outcome(RAW)),
        (text(tag, 8) + " \U0001f30a", outcome(RAW)),
    ]
    n = len(texts)
    table = pa.table(
        {
            "text": pa.array([t for t, _ in texts], pa.string()),
            "source": pa.array(["pq"] * n),
            "n": pa.array(range(n), pa.int64()),
            "tags": pa.array([["a", "b"]] * n, pa.list_(pa.string())),
            "blob": pa.array([b"\x00\xff"] * n, pa.binary()),
            "st": pa.array([{"k": i, "v": "w"} for i in range(n)]),
        }
    )
    return table, [o for _, o in texts]


def intact_row_groups(data: bytes) -> int:
    """Rows in the row groups before the first one that no longer reads (an independent per-group reader)."""
    parquet = pq.ParquetFile(io.BytesIO(data))
    rows = 0
    for group in range(parquet.num_row_groups):
        try:
            rows += parquet.read_row_group(group).num_rows
        except (pa.ArrowException, OSError):
            break
    return rows


def _parquet_bytes(table: pa.Table, **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kwargs)
    return buf.getvalue()


def warc_bytes(
    tag: str, compressed: bool, oversized: bool = True, extra_pages: int = 0
) -> tuple[bytes, list[Outcome], list[int]]:
    """A WARC with responses (HTML, non-HTML, empty, oversized) between request and warcinfo records, then
    ``extra_pages`` more HTML pages; also the byte offset where each response record ends."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=compressed)
    writer.write_record(writer.create_warcinfo_record("corpus.warc", {"software": "reliability-corpus"}))
    outcomes: list[Outcome] = []
    ends: list[int] = []

    def response(body: bytes, content_type: str | None, allowed: Outcome) -> None:
        position = len(outcomes) + 1
        url = f"https://example.org/{tag}/{position}"
        headers = [("Content-Type", content_type)] if content_type else []
        http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
        outcomes.append(allowed)
        ends.append(buf.tell())

    response(html_page(tag, 1).encode(), "text/html; charset=utf-8", outcome(RAW))
    response(b"plain text body #2#", "text/plain", outcome("unsupported_content_type"))
    response(b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png", outcome("unsupported_content_type"))
    response(b"<html><body><script>var a = 1;</script></body></html>", "text/html", outcome("no_text_extracted"))
    response(html_page(tag, 5).encode(), None, outcome("unsupported_content_type"))
    if oversized:
        big = ("<html><body><p>" + huge(6) + "</p></body></html>").encode()
        response(big, "text/html", outcome("record_too_large"))
    else:
        response(html_page(tag, 6).encode(), "text/html", outcome(RAW))
    response(html_page(tag, 7).encode("latin-1", "replace"), "text/html; charset=iso-8859-1", outcome(RAW))
    response(html_page(tag, 8).encode(), "application/xhtml+xml", outcome(RAW))
    for position in range(9, 9 + extra_pages):
        response(html_page(tag, position, 6).encode(), "text/html", outcome(RAW))
    return buf.getvalue(), outcomes, ends


def _stream_lines(tag: str, count: int, line_bytes: int) -> Iterable[bytes]:
    pad = "a" * line_bytes
    for p in range(1, count + 1):
        yield _dumps({"text": f"{tag} #{p}# {pad}"}) + b"\n"


def _compress_stream(chunks: Iterable[bytes], kind: str) -> bytes:
    if kind == "gzip":
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        return b"".join(c.compress(x) for x in chunks) + c.flush()
    zc = zstandard.ZstdCompressor(level=3).compressobj()
    return b"".join(zc.compress(x) for x in chunks) + zc.flush()


# ------------------------------------------------------------------------------------------- the corpus


class _Corpus:
    def __init__(self, folder: Path, write: bool) -> None:
        self.folder = folder
        self.write = write
        self.cases: list[Case] = []

    def add(self, name: str, fault: str, fmt: str, kind: str, file: str, data: bytes, **kw: Any) -> None:
        if self.write:
            path = self.folder / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.cases.append(Case(name, fault, fmt, kind, file, **kw))


def build_corpus(folder: Path, full: bool = False, write: bool = True) -> list[Case]:
    """Write the corpus into ``folder`` and return its cases; with ``full`` also the heavy cases (large files,
    bigger bombs). ``write=False`` only returns the cases (the files are already there)."""
    c = _Corpus(folder, write)
    rng = random.Random(20240601)

    # JSON Lines: every bad-row kind, plain and compressed
    for kind in ("plain", "gzip", "zstd"):
        rows = jsonl_mixed(f"jsonl-{kind}")
        c.add(
            f"jsonl/mixed-rows/{kind}",
            "good rows between invalid JSON, invalid UTF-8, non-objects, missing/null/wrong-type/empty/NUL text, "
            "a 2 MiB record, nesting 100 and 2000 deep, control characters, CRLF, lone surrogates",
            "jsonl",
            kind,
            f"jsonl/mixed-{kind}.jsonl{SUFFIX[kind]}",
            compress(rows.data(), kind),
            rows=tuple(rows.outcomes),
        )
    rows = good_lines("huge-last", 3)
    rows.add(lambda p: _dumps({"text": "q" * (3 * MiB) + f" #{p}#"}), "record_too_large")
    c.add(
        "jsonl/huge-line-at-eof",
        "a 3 MiB last line with no newline",
        "jsonl",
        "plain",
        "jsonl/huge-last.jsonl",
        rows.data()[:-1],
        rows=tuple(rows.outcomes),
    )
    for kind in ("gzip", "zstd"):
        rows = good_lines(f"trunc-{kind}", 3000)
        whole = compress(rows.data(), kind)
        cut = whole[: len(whole) * 2 // 3]
        recoverable = decodable_prefix(cut, kind).count(b"\n")
        c.add(
            f"jsonl/truncated/{kind}",
            f"{kind} stream cut at 2/3 of its bytes",
            "jsonl",
            kind,
            f"jsonl/truncated.jsonl{SUFFIX[kind]}",
            cut,
            rows=tuple(rows.outcomes),
            breaks=STREAM_BREAKS,
            must_break=True,
            recoverable=recoverable,
        )
        damaged = bytearray(whole)
        at = len(damaged) * 2 // 3
        damaged[at : at + 64] = bytes(rng.randrange(256) for _ in range(64))
        recoverable = intact_prefix(rows.data(), decodable_prefix(bytes(damaged), kind)).count(b"\n")
        tail = {"invalid_json", "invalid_utf8", "not_an_object", "missing_text"} if kind == "gzip" else set()
        c.add(
            f"jsonl/corrupt/{kind}",
            f"64 random bytes written over a {kind} stream at 2/3",
            "jsonl",
            kind,
            f"jsonl/corrupt.jsonl{SUFFIX[kind]}",
            bytes(damaged),
            rows=tuple(rows.outcomes),
            breaks=STREAM_BREAKS | ({"invalid_json", "invalid_utf8", "not_an_object", "missing_text"} - tail),
            must_break=True,
            recoverable=recoverable,
            garbled_tail=kind == "gzip",
        )
        lines = 4_000 if not full else 200_000
        bomb = _compress_stream(_stream_lines(f"bomb-{kind}", lines, 10_000), kind)
        c.add(
            f"jsonl/bomb/{kind}",
            f"{lines * 10 // 1000} MB of JSON Lines in {len(bomb) // 1000} kB of {kind} (ratio guard)",
            "jsonl",
            kind,
            f"jsonl/bomb.jsonl{SUFFIX[kind]}",
            bomb,
            rows=(outcome(RAW),) * lines,
            breaks=outcome("decompression_bomb"),
            must_break=True,
        )
        one_line = _compress_stream([b'{"text": "'] + [b"a" * MiB] * (64 if not full else 2000) + [b'"}\n'], kind)
        c.add(
            f"jsonl/bomb-one-line/{kind}",
            f"one {64 if not full else 2000} MiB line in {len(one_line) // 1000} kB of {kind}",
            "jsonl",
            kind,
            f"jsonl/bomb-one-line.jsonl{SUFFIX[kind]}",
            one_line,
            rows=(outcome("record_too_large"),),
            breaks=outcome("decompression_bomb"),
            must_break=True,
        )
    rows = _Rows()
    rows.add(lambda p: _with_nested_meta(text("deep", p), 300), RAW, "invalid_json")
    rows.add(lambda p: _dumps({"text": text("deep", p)}), RAW)
    c.add(
        "jsonl/nesting-300",
        "meta nested 300 deep (parses, but deeper than orjson serialises)",
        "jsonl",
        "plain",
        "jsonl/deep-300.jsonl",
        rows.data(),
        rows=tuple(rows.outcomes),
    )
    c.add(
        "jsonl/empty-gzip",
        "a gzip stream of zero bytes",
        "jsonl",
        "gzip",
        "jsonl/empty.jsonl.gz",
        gzip.compress(b"", mtime=0),
        rows=(),
    )
    block: list[bytes] = []
    size = 0
    while size < 8 * MiB - 4096:
        block.append(_dumps({"text": text("block", len(block) + 1, 40)}) + b"\n")
        size += len(block[-1])
    count = len(block)
    body = b"".join(block)
    shell = _dumps({"text": f" #{count + 1}#"}) + b"\n"
    exact = body + shell[:10] + b"p" * (8 * MiB - len(body) - len(shell)) + shell[10:]
    c.add(
        "jsonl/exactly-8MiB",
        "a plain JSON Lines file of exactly 8 MiB (the fast reader's block size)",
        "jsonl",
        "plain",
        "jsonl/exactly-8mib.jsonl",
        exact,
        rows=(outcome(RAW),) * (count + 1),
    )
    c.add(
        "jsonl/bom",
        "a UTF-8 byte-order mark before the first line",
        "jsonl",
        "plain",
        "jsonl/bom.jsonl",
        b"\xef\xbb\xbf" + good_lines("bom", 3).data(),
        rows=(outcome(RAW),) * 3,
    )
    c.add(
        "jsonl/whitespace-only",
        "a JSON Lines file of blank lines",
        "jsonl",
        "plain",
        "jsonl/blank.jsonl",
        b"\n \n\t\n\r\n",
        rows=(outcome(SKIP),) * 4,
    )
    latin = _Rows()
    for p in range(1, 7):
        if p % 2:
            latin.add(lambda q: _dumps({"text": text("latin", q)}), RAW)
        else:
            latin.add(
                lambda q: _dumps({"text": f"caf\u00e9 cr\u00e8me #{q}#"}).decode().encode("latin-1"), "invalid_utf8"
            )
    c.add(
        "jsonl/latin-1-lines",
        "every other line encoded as Latin-1",
        "jsonl",
        "plain",
        "jsonl/latin1.jsonl",
        latin.data(),
        rows=tuple(latin.outcomes),
    )

    # JSON arrays
    items: list[tuple[Any, Outcome]] = [
        ({"text": text("array", 1)}, outcome(RAW)),
        (5, outcome("not_an_object")),
        ("a string", outcome("not_an_object")),
        (None, outcome("not_an_object")),
        ([{"text": "nested in a list #5#"}], outcome("not_an_object")),
        ({"text": 123}, outcome("wrong_type")),
        ({"nope": text("array", 7)}, outcome("missing_text")),
        ({"text": ""}, outcome("empty_text")),
        ({"text": huge(9)}, outcome("record_too_large")),
        ({"text": text("array", 10), "meta": {"deep": _nested(50)}}, outcome(RAW)),
        ({"text": text("array", 11)}, outcome(RAW)),
    ]
    array = _dumps([v for v, _ in items])
    for kind in ("plain", "gzip", "zstd"):
        c.add(
            f"json/mixed-array/{kind}",
            "an array of objects, non-objects, wrong-type, missing, empty and oversized text",
            "json",
            kind,
            f"json/mixed-{kind}.json{SUFFIX[kind]}",
            compress(array, kind),
            rows=tuple(o for _, o in items),
        )
    c.add(
        "json/truncated-array",
        "a JSON array cut in the middle (read whole, so the whole file is rejected)",
        "json",
        "plain",
        "json/truncated.json",
        array[: len(array) // 2],
        rows=tuple(o for _, o in items),
        breaks=outcome("invalid_json"),
        must_break=True,
    )
    big = _dumps([{"text": text("bigarray", p, 40)} for p in range(1, 30_001)])
    c.add(
        "json/array-over-file-limit",
        f"a {len(big) // MiB} MiB array over max_file_bytes={GUARD.max_file_bytes // MiB} MiB",
        "json",
        "plain",
        "json/too-big.json",
        big,
        rows=(outcome(RAW),) * 30_000,
        breaks=outcome("file_too_large"),
        must_break=True,
    )
    c.add(
        "json/array-nested-5000",
        "an array nested 5000 deep",
        "json",
        "plain",
        "json/deep.json",
        b"[" * 5000 + b"]" * 5000,
        rows=(outcome(RAW, "not_an_object"),),
        breaks=outcome("invalid_json"),
        must_break=True,
    )
    c.add(
        "json/array-element-nesting-300",
        "an array element whose meta nests 300 deep",
        "json",
        "plain",
        "json/deep-300.json",
        b"[" + _with_nested_meta(text("deeparr", 1), 300) + b", " + _dumps({"text": text("deeparr", 2)}) + b"]",
        rows=(outcome(RAW, "invalid_json", "wrong_type"), outcome(RAW)),
    )

    # CSV and TSV
    for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
        data, outcomes = csv_mixed(fmt, delimiter)
        for kind in ("plain", "gzip", "zstd"):
            c.add(
                f"{fmt}/mixed-rows/{kind}",
                "good and multi-line rows between wrong field counts, invalid UTF-8, empty/blank/NUL text, "
                "a 2 MiB field, stray and unclosed quotes",
                fmt,
                kind,
                f"{fmt}/mixed-{kind}.{fmt}{SUFFIX[kind]}",
                compress(data, kind),
                rows=tuple(outcomes),
            )
    c.add(
        "csv/no-text-column",
        "a CSV without any text column",
        "csv",
        "plain",
        "csv/no-text.csv",
        b"title,source\n" + b"".join(f"a title {p},s\n".encode() for p in range(1, 6)),
        rows=(outcome("missing_text"),) * 5,
    )
    c.add(
        "csv/invalid-utf8-header",
        "a header with a byte that is not UTF-8",
        "csv",
        "plain",
        "csv/bad-header.csv",
        b"text,ti\xe9tle\n" + "".join(f"{text('badheader', p)},t\n" for p in range(1, 4)).encode(),
        rows=(outcome(RAW, "invalid_utf8", "malformed_csv"),) * 3,
        breaks=outcome("invalid_utf8", "malformed_csv"),
    )
    c.add("csv/header-only", "a header and no rows", "csv", "plain", "csv/header-only.csv", b"text,source\n", rows=())
    c.add(
        "csv/bom",
        "a UTF-8 byte-order mark before the header (as spreadsheet exports write it)",
        "csv",
        "plain",
        "csv/bom.csv",
        b"\xef\xbb\xbftext,source\n" + "".join(f"{text('csvbom', p)},s\n" for p in range(1, 4)).encode(),
        rows=(outcome(RAW),) * 3,
    )

    # Parquet
    table, outcomes = parquet_mixed("pq")
    plain = _parquet_bytes(table, row_group_size=3)
    for kind in ("plain", "gzip", "zstd"):
        c.add(
            f"parquet/mixed-rows/{kind}",
            "null, empty, blank, NUL and 2 MiB text between good rows; list, binary and struct extra columns",
            "parquet",
            kind,
            f"parquet/mixed-{kind}.parquet{SUFFIX[kind]}",
            compress(plain, kind),
            rows=tuple(outcomes),
        )
    c.add(
        "parquet/int-text-column",
        "the text column holds integers",
        "parquet",
        "plain",
        "parquet/int-text.parquet",
        _parquet_bytes(pa.table({"text": pa.array(range(5), pa.int64())})),
        rows=(outcome("wrong_type"),) * 5,
    )
    c.add(
        "parquet/no-text-column",
        "no text column at all",
        "parquet",
        "plain",
        "parquet/no-text.parquet",
        _parquet_bytes(pa.table({"title": [f"t{p}" for p in range(5)]})),
        rows=(outcome("missing_text"),) * 5,
    )
    many = pa.table({"text": [text("pqrg", p, 30) for p in range(1, 1001)]})
    whole = _parquet_bytes(many, row_group_size=100, compression="zstd")
    c.add(
        "parquet/truncated",
        "a Parquet file cut in half (footer gone)",
        "parquet",
        "plain",
        "parquet/truncated.parquet",
        whole[: len(whole) // 2],
        rows=(outcome(RAW),) * 1000,
        breaks=outcome("corrupt_parquet"),
        must_break=True,
    )
    damaged = bytearray(whole)
    at = len(damaged) * 3 // 5
    damaged[at : at + 256] = bytes(rng.randrange(256) for _ in range(256))
    c.add(
        "parquet/corrupt-page",
        "256 random bytes over a data page of a 10-row-group file",
        "parquet",
        "plain",
        "parquet/corrupt.parquet",
        bytes(damaged),
        rows=(outcome(RAW),) * 1000,
        breaks=outcome("corrupt_parquet"),
        must_break=True,
        recoverable=intact_row_groups(bytes(damaged)),
    )
    bomb_groups = pa.table({"text": [text("pqbomb", p) for p in range(1, 5)] + ["b" * (8 * MiB) + " #5#", "x #6#"]})
    c.add(
        "parquet/internal-bomb-small",
        "an 8 MiB value in a zstd Parquet column (ratio past the guard) in the second of two row groups",
        "parquet",
        "plain",
        "parquet/bomb-small.parquet",
        _parquet_bytes(bomb_groups, row_group_size=3, compression="zstd"),
        rows=(outcome(RAW),) * 3 + (outcome("decompression_bomb"),) * 3,  # the guard, not the record limit
    )
    c.add(
        "parquet/named-jsonl",
        "a Parquet file named .jsonl (format from content)",
        "parquet",
        "plain",
        "parquet/really-parquet.jsonl",
        _parquet_bytes(pa.table({"text": [text("misnamed", p) for p in range(1, 4)]})),
        rows=(outcome(RAW),) * 3,
    )

    # WARC
    for compressed in (False, True):
        data, outcomes, _ = warc_bytes(f"warc{int(compressed)}", compressed)
        kind = "gzip" if compressed else "plain"
        c.add(
            f"warc/mixed-records/{kind}",
            "HTML responses between text/PNG/untyped responses, a script-only page and a 2 MiB payload",
            "warc",
            kind,
            f"warc/mixed-{kind}.warc{'.gz' if compressed else ''}",
            data,
            rows=tuple(outcomes),
            markers=False,
        )
    data, outcomes, ends = warc_bytes("warctrunc", True, oversized=False, extra_pages=40)
    warc_cut = len(data) * 3 // 4
    c.add(
        "warc/truncated",
        "a gzipped WARC of 48 pages cut at 3/4",
        "warc",
        "gzip",
        "warc/truncated.warc.gz",
        data[:warc_cut],
        rows=tuple(outcomes),
        breaks=STREAM_BREAKS | {"corrupt_warc"},
        must_break=True,
        recoverable=sum(1 for end in ends if end <= warc_cut),
        markers=False,
    )
    data, outcomes, _ = warc_bytes("warcgarbage", False, oversized=False)
    c.add(
        "warc/garbage-after-records",
        "random bytes after the last WARC record",
        "warc",
        "plain",
        "warc/garbage.warc",
        data + b"WARC/1.0\r\nthis is not a header\r\n\r\n" + bytes(rng.randrange(256) for _ in range(2000)),
        rows=(*outcomes, outcome(SKIP)),
        breaks=outcome("corrupt_warc"),
        markers=False,
    )

    # HTML pages
    c.add(
        "html/good",
        "a plain page",
        "html",
        "plain",
        "html/good.html",
        html_page("page", 1).encode(),
        rows=(outcome(RAW),),
    )
    c.add(
        "html/good/zstd",
        "a zstd page",
        "html",
        "zstd",
        "html/good.html.zst",
        compress(html_page("pagez", 1).encode(), "zstd"),
        rows=(outcome(RAW),),
    )
    c.add(
        "html/no-text",
        "a page with only a script",
        "html",
        "plain",
        "html/blank.html",
        b"<html><head><title>x</title></head><body><script>var a=1;</script></body></html>",
        rows=(outcome("no_text_extracted"),),
    )
    c.add(
        "html/nested-100k",
        "a paragraph inside 100,000 nested divs",
        "html",
        "plain",
        "html/deep.html",
        ("<html><body>" + "<div>" * 100_000 + html_page("deep", 1) + "</div>" * 100_000 + "</body></html>").encode(),
        rows=(outcome(RAW, "no_text_extracted"),),
        markers=False,
    )
    c.add(
        "html/over-file-limit",
        "a 5 MiB page over max_file_bytes",
        "html",
        "plain",
        "html/huge.html",
        ("<html><body>" + "<p>long page text here</p>" * (5 * MiB // 26) + "</body></html>").encode(),
        rows=(outcome("file_too_large"),),
    )
    c.add(
        "html/latin-1",
        "a Latin-1 page that declares its charset",
        "html",
        "plain",
        "html/latin1.html",
        html_page("latin", 1)
        .replace("<head>", '<head><meta charset="iso-8859-1">')
        .replace("rivers", "rivi\u00e8res")
        .encode("latin-1"),
        rows=(outcome(RAW),),
    )
    c.add(
        "html/random-bytes",
        "4 kB of random bytes named .html",
        "html",
        "plain",
        "html/random.html",
        bytes(rng.randrange(256) for _ in range(4096)),
        rows=(outcome(RAW, "no_text_extracted"),),
        markers=False,
    )
    c.add(
        "html/bomb/gzip",
        "100 MiB of HTML in a small gzip file",
        "html",
        "gzip",
        "html/bomb.html.gz",
        _compress_stream([b"<html><body><p>"] + [b"a" * MiB] * 100 + [b"</p></body></html>"], "gzip"),
        # read whole: the file limit (4 MiB) or the bomb guard (ratio 100 of the whole file, at ~10 MiB) trips first
        rows=(outcome("file_too_large", "decompression_bomb"),),
    )

    # plain text
    c.add(
        "text/good",
        "a UTF-8 text file",
        "text",
        "plain",
        "text/good.txt",
        text("txt", 1, 30).encode(),
        rows=(outcome(RAW),),
    )
    c.add(
        "text/good/gzip",
        "a gzip text file",
        "text",
        "gzip",
        "text/good.txt.gz",
        compress(text("txtgz", 1, 30).encode(), "gzip"),
        rows=(outcome(RAW),),
    )
    c.add(
        "text/latin-1",
        "a Latin-1 text file",
        "text",
        "plain",
        "text/latin1.txt",
        "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e #1#".encode("latin-1"),
        rows=(outcome("invalid_utf8"),),
    )
    c.add(
        "text/utf-16",
        "a UTF-16 text file",
        "text",
        "plain",
        "text/utf16.txt",
        text("utf16", 1).encode("utf-16"),
        rows=(outcome("invalid_utf8"),),
    )
    c.add(
        "text/nul-bytes",
        "a text file with NUL bytes",
        "text",
        "plain",
        "text/nul.txt",
        b"binary\x00junk #1#",
        rows=(outcome("nul_bytes"),),
    )
    c.add(
        "text/over-record-limit",
        "a 2 MiB text file",
        "text",
        "plain",
        "text/huge.txt",
        b"v" * HUGE,
        rows=(outcome("record_too_large"),),
    )
    c.add(
        "text/blank",
        "a text file of whitespace",
        "text",
        "plain",
        "text/blank.txt",
        b" \n\t \n",
        rows=(outcome("empty_text"),),
    )
    c.add(
        "text/empty-zstd",
        "a zstd stream of zero bytes",
        "text",
        "zstd",
        "text/empty.txt.zst",
        compress(b"", "zstd"),
        rows=(outcome("empty_text", "empty_file"),),
    )

    # whole-file problems
    for fmt, ext in (
        ("jsonl", "jsonl"),
        ("csv", "csv"),
        ("parquet", "parquet"),
        ("warc", "warc"),
        ("html", "html"),
        ("text", "txt"),
    ):
        c.add(
            f"{fmt}/zero-bytes",
            "a zero-byte file",
            fmt,
            "plain",
            f"empty/zero.{ext}",
            b"",
            rows=(),
            breaks=outcome("empty_file"),
            must_break=True,
        )
    c.add(
        "unknown/random-bytes",
        "random bytes with an unknown extension",
        "unknown",
        "plain",
        "unknown/random.bin",
        bytes(rng.randrange(256) for _ in range(4096)),
        rows=(outcome("unknown_format"),),
        breaks=outcome("unknown_format"),
        must_break=True,
    )
    c.add(
        "unknown/gzip-header-then-garbage",
        "gzip magic bytes followed by random bytes",
        "jsonl",
        "gzip",
        "unknown/fake.jsonl.gz",
        b"\x1f\x8b" + bytes(rng.randrange(256) for _ in range(4096)),
        rows=(),
        breaks=STREAM_BREAKS,
        must_break=True,
    )
    c.add(
        "unknown/zstd-header-then-garbage",
        "zstd magic bytes followed by random bytes",
        "jsonl",
        "zstd",
        "unknown/fake.jsonl.zst",
        b"\x28\xb5\x2f\xfd" + bytes(rng.randrange(256) for _ in range(4096)),
        rows=(),
        breaks=STREAM_BREAKS,
        must_break=True,
    )

    if full:
        _add_heavy(c)
    return c.cases


def _add_heavy(c: _Corpus) -> None:
    """Large inputs: memory must stay bounded by the limits, not by the input."""
    for kind in ("gzip", "zstd"):
        rows = 60_000
        data = _compress_stream(
            (
                _dumps({"text": f"cap-{kind} #{p}# " + " ".join(str(p * k % 99991) for k in range(1, 200))}) + b"\n"
                for p in range(1, rows + 1)
            ),
            kind,
        )
        c.add(
            f"jsonl/total-cap/{kind}",
            f"~{rows * 1100 // MiB} MiB of varied JSON Lines ({len(data) // MiB} MiB of {kind}) past max_decompressed_bytes",
            "jsonl",
            kind,
            f"heavy/total-cap.jsonl{SUFFIX[kind]}",
            data,
            rows=(outcome(RAW),) * rows,
            breaks=outcome("decompression_bomb"),
            must_break=True,
        )
    c.add(
        "jsonl/line-256MiB",
        "a 256 MiB line followed by a good one (plain file)",
        "jsonl",
        "plain",
        "heavy/line-256mib.jsonl",
        b'{"text": "' + b"h" * (256 * MiB) + b' #1#"}\n' + _dumps({"text": text("after-huge", 2)}) + b"\n",
        rows=(outcome("record_too_large"), outcome(RAW)),
    )
    c.add(
        "csv/field-64MiB",
        "a 64 MiB CSV field followed by a good row",
        "csv",
        "plain",
        "heavy/field-64mib.csv",
        b"text,source\n" + b"f" * (64 * MiB) + b" #1#,s\n" + text("after-field", 2).encode() + b",s\n",
        rows=(outcome("record_too_large"), outcome(RAW)),
    )
    c.add(
        "parquet/internal-bomb",
        "one 256 MiB value in a zstd-compressed Parquet column (not guarded by the stream guard)",
        "parquet",
        "plain",
        "heavy/bomb.parquet",
        _parquet_bytes(pa.table({"text": ["b" * (256 * MiB) + " #1#", text("pqafter", 2)]}), compression="zstd"),
        # the row group is checked against the decompression guard from the footer and never decoded
        rows=(outcome("record_too_large", "decompression_bomb"), outcome(RAW, "decompression_bomb")),
    )
