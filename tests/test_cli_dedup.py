"""``wellspring dedup`` on the real sample files (docs-f holds near-copies of docs-a documents).

Most tests drive the lean front end (``flows.cli_dedup.main``, what ``python -m flows.cli_dedup``
runs); one drives the typer command registered in ``flows/cli.py``, and the start-up tests run real
interpreters.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import zstandard
from typer.testing import CliRunner

from flows.cli_dedup import main

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


@pytest.fixture(scope="module")
def docs_f(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs-f.jsonl.zst decompressed: the command reads JSONL and Parquet only."""
    path = tmp_path_factory.mktemp("inputs") / "docs-f.jsonl"
    path.write_bytes(zstandard.ZstdDecompressor().decompressobj().decompress((INBOX / "docs-f.jsonl.zst").read_bytes()))
    return path


def _run(*args: str) -> tuple[int, str, str]:
    """``main(args)`` in this process: exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


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
    """Start-up: importing the command imports no data stack, typer or the MinHash core."""
    heavy = ("tasks.core.minhash", "scipy", "numpy", "polars", "pyarrow", "typer", "deltalake", "prefect")
    code = f"import sys, flows.cli_dedup; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_run_path_imports_no_typer_pyarrow_deltalake_or_prefect(tmp_path: Path) -> None:
    """A whole run of the lean front end, in a fresh interpreter, loads only what it needs."""
    unwanted = ("typer", "click", "pyarrow", "deltalake", "prefect", "scipy")
    code = (
        "import sys, flows.cli_dedup as c; "
        f"code = c.main([{str(INBOX / 'docs-a.jsonl')!r}, '--out', {str(tmp_path)!r}, '--json']); "
        f"print(code, [m for m in {unwanted!r} if m in sys.modules], file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "0 []"
    assert json.loads(out.stdout)["documents"] == 428
    assert (tmp_path / "survivors.parquet").is_file()


def test_python_m_runs_the_lean_front_end(tmp_path: Path) -> None:
    """``python -m flows.cli_dedup`` as a real process: one JSON object on stdout, exit 0."""
    cmd = [sys.executable, "-m", "flows.cli_dedup", str(INBOX / "docs-a.jsonl"), "--out", str(tmp_path), "--json"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["documents"] == 428 and summary["workers"] >= 1
    assert set(summary["timings"]) == {"start_and_read", "dedup", "write"}
    assert pl.read_parquet(tmp_path / "survivors.parquet").height == 428 - summary["removed"]


def test_wellspring_dedup_typer_command_matches_the_lean_one(docs_f: Path, tmp_path: Path) -> None:
    """The typer command ``flows/cli.py`` registers runs the same code: same survivors, same errors."""
    from flows.cli import app

    inputs = [str(INBOX / "docs-a.jsonl"), str(docs_f)]
    result = CliRunner().invoke(app, ["dedup", *inputs, "--out", str(tmp_path / "typer"), "--json", "--workers", "1"])
    assert result.exit_code == 0, result.output
    code, _, _ = _run(*inputs, "--out", str(tmp_path / "lean"), "--json")
    assert code == 0
    typer_survivors = pl.read_parquet(tmp_path / "typer" / "survivors.parquet")
    assert typer_survivors.equals(pl.read_parquet(tmp_path / "lean" / "survivors.parquet"))
    assert json.loads(result.stdout)["removed"] >= len(NEAR_COPIES)
    bad = CliRunner().invoke(app, ["dedup", inputs[0], "--out", str(tmp_path / "x"), "--num-perm", "1"])
    assert bad.exit_code == 1 and bad.stdout == "" and bad.stderr.startswith("error: --num-perm")


def test_the_wellspring_script_sends_dedup_to_the_lean_front_end(tmp_path: Path) -> None:
    """The console script's launcher, in a fresh interpreter: ``dedup`` runs without building the typer app."""
    code = (
        "import sys; "
        f"sys.argv = ['wellspring', 'dedup', {str(INBOX / 'docs-a.jsonl')!r}, '--out', {str(tmp_path)!r}, '--json']\n"
        "import os\n"
        "real_exit = os._exit\n"
        "def report(code):\n"  # the launcher ends the lean path with os._exit: report what was loaded first
        "    print(code, 'typer' in sys.modules, 'flows.cli' in sys.modules, file=sys.stderr, flush=True)\n"
        "    real_exit(code)\n"
        "os._exit = report\n"
        "from flows.launcher import main\n"
        "main()"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "0 False False"
    assert json.loads(out.stdout)["documents"] == 428
