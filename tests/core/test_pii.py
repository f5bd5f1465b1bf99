"""Personal data on real e-mail text: found, redacted in the reservoir, counted, or dropped by config."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tasks.core import pipeline
from tasks.core.clean.pii import pii_counts, redacted
from tasks.core.config import NightlyConfig, PiiConfig
from tasks.core.ledger import list_inputs
from tasks.core.storage import DataRoot
from tests.conftest import CORPUS, SAMPLE


def test_patterns_on_handwritten_cases() -> None:
    frame = pl.DataFrame(
        {
            "text": [
                "Version 3.10.2 released on 2021-05-04 costs 1,299.00 at 10:40:39",
                "call +1 (555) 123-4567 or 555-123-4567",
                "server 192.168.0.1 but not 999.1.1.1",
                "write to joe.bloggs@example.co.uk",
            ]
        }
    )
    assert frame.select(redacted(pl.col("text"))).to_series().to_list() == [
        "Version 3.10.2 released on 2021-05-04 costs 1,299.00 at 10:40:39",
        "call <PHONE> or <PHONE>",
        "server <IP> but not 999.1.1.1",
        "write to <EMAIL>",
    ]


def test_real_mailing_list_text_from_the_corpus_is_redacted() -> None:
    if not (CORPUS / "human.parquet").is_file():
        pytest.skip("shared corpus absent")
    mails = pl.read_parquet(CORPUS / "human.parquet").filter(pl.col("source") == "spamassassin").head(500)
    before = mails.select(pii_counts(pl.col("text"))).sum()
    assert before["pii_email"].item() > 300
    after = mails.select(redacted(pl.col("text")).alias("text")).select(pii_counts(pl.col("text"))).sum()
    assert after.sum_horizontal().item() == 0


def run(root: DataRoot, inbox: Path, cfg: NightlyConfig) -> dict[str, object]:
    run_id = pipeline.new_run_id()
    pipeline.ingest_stage(root, run_id, list_inputs([inbox]), cfg.ingest)
    pipeline.quality_stage(root, run_id, cfg.quality)
    pipeline.pii_stage(root, run_id, cfg.pii)
    pipeline.exact_dedup_stage(root, run_id)
    pipeline.commit_stage(root, run_id, pii=cfg.pii)
    return pipeline.run_summary(root, run_id)


def test_redaction_in_the_reservoir_with_counts_in_the_summary(root: DataRoot) -> None:
    summary = run(root, SAMPLE / "inbox" / "docs-a.jsonl", NightlyConfig())
    stored = root.scan("reservoir").filter(pl.col("source") == "spamassassin").collect()
    assert stored.select(pii_counts(pl.col("text"))).sum().sum_horizontal().item() == 0
    assert stored["text"].str.contains("<EMAIL>").sum() > 10
    assert summary["pii_redacted_documents"]["email"] > 10  # type: ignore[index]
    raw = root.scan("raw").filter(pl.col("source") == "spamassassin").collect()
    assert raw["text"].str.contains("@").sum() > 10  # raw keeps the input as it was


def test_drop_mode_drops_with_a_named_reason(root: DataRoot) -> None:
    cfg = NightlyConfig(pii=PiiConfig(mode="drop"))
    summary = run(root, SAMPLE / "inbox" / "docs-a.jsonl", cfg)
    dropped: dict[str, int] = summary["dropped"]  # type: ignore[assignment]
    assert dropped["pii:email"] > 10
    assert summary["ingested"] == summary["admitted"] + sum(dropped.values())
