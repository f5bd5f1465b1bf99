"""``make demo``: the nightly flow on the shipped sample inbox, then where to look."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from flows.cli_common import run_tags, use_home

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
SAMPLE_INBOX = SAMPLE / "inbox"


def train_provenance_model(home: str) -> None:
    """A first provenance classifier from the shipped samples (human docs-a/b, 200 machine texts),
    as `wellspring provenance train` would make it; skipped when the data root already has one."""
    from tasks.core import provenance
    from tasks.core.storage import DataRoot

    root = DataRoot.at(home)
    if provenance.versions(root):
        return
    human = pl.concat(
        [provenance.read_documents(SAMPLE_INBOX / n) for n in ("docs-a.jsonl", "docs-b.jsonl.gz")],
        how="diagonal_relaxed",
    )
    model, metrics = provenance.train(
        human, provenance.read_documents(SAMPLE / "machine.jsonl"), provenance.ProvenanceConfig()
    )
    version = provenance.save_model(root, model, metrics)
    print(f"provenance model v{version}: held-out ROC-AUC {metrics['held_out']['roc_auc']} (sample data)")


def main() -> int:
    home = use_home(None)
    train_provenance_model(home)
    from flows.nightly import nightly_flow  # after _use_home: Prefect's state goes inside the data root
    from tasks.core.report import run_markdown
    from tasks.core.storage import DataRoot

    with run_tags("nightly", home):
        summary = nightly_flow(inbox=str(SAMPLE_INBOX), home=home)
    print("\n" + run_markdown(summary) + "\n")
    if summary["ingested"] == 0:
        print("The sample inbox was already curated into this data root (each file is processed once).")
        print(f"Start over with: rm -rf {home}\n")
    dup = DataRoot.at(home).scan("decisions").filter(reason="exact_dup_of").select("doc_id").head(1).collect()
    example = dup.item() if dup.height else "DOC_ID"
    print("Where to look:")
    print(f"  data root (Delta tables raw, quarantine, decisions, reservoir, ledger, runs): {home}")
    print(f"  one document's story:   .venv/bin/wellspring explain {example}")
    print("  the run in the Prefect UI:  make ui   then open http://127.0.0.1:4200 (Runs -> nightly-...)")
    print(f'  the tables in Python:   polars.scan_delta("{home}/reservoir").collect()')
    return 0


if __name__ == "__main__":
    sys.exit(main())
