"""``wellspring dedup`` on the real sample files (docs-f holds near-copies of docs-a documents)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import zstandard
from typer.testing import CliRunner

from flows.cli_dedup import app

ROOT = Path(__file__).resolve().parents[1]
INBOX = ROOT / "sample_data" / "inbox"
# (near-copy in docs-f, original in docs-a), from sample_data/README.md
NEAR_COPIES = {
    "linux-kernel-docs-a2eabf96e1c247f3": "linux-kernel-docs-680aff19213895b9",
    "foldoc-82362dc14aee6967": "foldoc-8e30a0ceca66c18c",
    "spamassassin-c3bf94b629c8f513": "spamassassin-9dcbb919f2c57136",
    "git-docs-636c75f23cf862af": "git-docs-31f138097cf265d2",
    "spamassassin-b8b6cdd748b5d7c1": "spamassassin-62c44d5d42d34885",
    "sotu-7a60896715bf46e9": "sotu-5cbd4c5d5e1a0d5c",
    "spamassassin-f5e72d587d656f1d": "spamassassin-f59ffca57273c929",
    "bible-kjv-1892e5ddaa84f81c": "bible-kjv-bff46a60797d7f40",
    "gutenberg-milton-1838cdfca6c8fb3d": "gutenberg-milton-98187c22cc514623",
    "spamassassin-dd17541bb58bffe8": "spamassassin-f3b93153eaacfc9e",
}

runner = CliRunner()


@pytest.fixture(scope="module")
def docs_f(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs-f.jsonl.zst decompressed: the command reads JSONL and Parquet only."""
    path = tmp_path_factory.mktemp("inputs") / "docs-f.jsonl"
    path.write_bytes(zstandard.ZstdDecompressor().decompressobj().decompress((INBOX / "docs-f.jsonl.zst").read_bytes()))
    return path


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_near_copies_across_files_are_removed(docs_f: Path, tmp_path: Path) -> None:
    code, stdout, _ = _run(str(INBOX / "docs-a.jsonl"), str(docs_f), "--out", str(tmp_path), "--json")
    assert code == 0
    summary = json.loads(stdout)  # exactly one JSON object on stdout
    inputs = pl.concat([pl.read_ndjson(INBOX / "docs-a.jsonl"), pl.read_ndjson(docs_f)], how="diagonal_relaxed")
    survivors = pl.read_parquet(tmp_path / "survivors.parquet")
    clusters = pl.read_parquet(tmp_path / "clusters.parquet")
    assert summary["documents"] == inputs.height == 428 + 704
    assert summary["removed"] == inputs.height - survivors.height >= len(NEAR_COPIES)
    assert summary["clusters"] == clusters["cluster_id"].n_unique()
    assert summary["seconds"] > 0
    assert survivors.columns == inputs.columns  # every input column kept, in order
    assert clusters.schema == pl.Schema(
        {"doc_id": pl.String, "cluster_id": pl.String, "survivor": pl.Boolean, "similarity": pl.Float64}
    )
    cluster_of = dict(clusters.select("doc_id", "cluster_id").iter_rows())
    kept = set(survivors["id"])
    for copy, original in NEAR_COPIES.items():
        assert cluster_of[copy] == cluster_of[original]
        assert (copy in kept) != (original in kept)  # exactly one of the pair survives
    assert set(clusters.filter(pl.col("survivor"))["doc_id"]) == set(clusters["cluster_id"])
    assert (clusters.filter(~pl.col("survivor"))["similarity"] > 0.5).all()
    removed = set(inputs["id"]) - kept
    assert removed == set(clusters.filter(~pl.col("survivor"))["doc_id"])


def test_parquet_without_id_uses_row_numbers(tmp_path: Path) -> None:
    docs = pl.read_parquet(INBOX / "docs-d.parquet").drop("id")
    text = docs["text"][0]
    docs = pl.concat([docs, pl.DataFrame({"text": [text + " and one more line"]})], how="diagonal")
    docs.write_parquet(tmp_path / "in.parquet")
    code, stdout, _ = _run(str(tmp_path / "in.parquet"), "--out", str(tmp_path / "out"), "--threshold", "0.7")
    assert code == 0 and "near-duplicates removed" in stdout
    survivors = pl.read_parquet(tmp_path / "out" / "survivors.parquet")
    clusters = pl.read_parquet(tmp_path / "out" / "clusters.parquet")
    assert survivors.columns == [*docs.columns, "doc_id"]
    assert {"0", str(docs.height - 1)} <= set(clusters["doc_id"])  # the appended near-copy of row 0
    assert survivors.height == docs.height - clusters.filter(~pl.col("survivor")).height


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["docs-f.jsonl.zst"], "only JSONL"),
        (["missing.jsonl"], "is not a file"),
        (["docs-a.jsonl", "--threshold", "1.5"], "--threshold"),
        (["docs-a.jsonl", "docs-a.jsonl"], "unique"),
    ],
)
def test_user_errors_exit_1_with_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    paths = [str(INBOX / a) if a.endswith(("jsonl", "zst")) else a for a in args]
    code, stdout, stderr = _run(*paths, "--out", str(tmp_path))
    assert code == 1 and stdout == ""
    assert stderr.startswith("error: ") and message in stderr and len(stderr.strip().splitlines()) == 1


def test_missing_text_column_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"id": "a", "body": "no text field here"}\n')
    code, _, stderr = _run(str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "out"))
    assert code == 1 and "no text column" in stderr


def test_module_import_is_light() -> None:
    """Start-up: importing the command must not import the MinHash core or scipy."""
    code = "import sys, flows.cli_dedup; print('tasks.core.minhash' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
