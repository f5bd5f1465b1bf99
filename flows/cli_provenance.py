"""``wellspring provenance``: train and store the text classifier, score files with evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from flows.cli_common import Home, Json, emit, expected_errors, use_home
from tasks.core.errors import InputError

app = typer.Typer(
    name="provenance",
    help="Score how likely documents are human-written (p_human) with the evidence behind it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
@expected_errors
def train(
    human: Annotated[Path, typer.Option("--human", help="human-written documents (.jsonl[.gz] or .parquet, 'text')")],
    machine: Annotated[Path, typer.Option("--machine", help="machine-generated documents (same formats)")],
    home: Home = None,
    seed: Annotated[int, typer.Option("--seed", help="sampling, split and fitting seed")] = 0,
    as_json: Json = False,
) -> None:
    """Fit the classifier, evaluate it on a held-out split and store it as a new model version."""
    from tasks.core import provenance
    from tasks.core.storage import DataRoot

    root = DataRoot.at(use_home(home))
    cfg = provenance.ProvenanceConfig()
    model, metrics = provenance.train(
        provenance.read_documents(human), provenance.read_documents(machine), cfg, seed=seed
    )
    version = provenance.save_model(root, model, metrics)
    held = metrics["held_out"]
    payload = {
        "model_version": version,
        "metrics": metrics,
        "path": str(root.path("models", "provenance", f"v{version}")),
    }
    text = (
        f"provenance model v{version} stored in {payload['path']}\n"
        f"held-out: ROC-AUC {held['roc_auc']}, precision at 95% human recall {held['precision_at_95_recall']}, "
        f"ECE {held['ece']} ({held['human']} human, {held['machine']} machine)"
    )
    emit(payload, as_json, text)


@app.command()
@expected_errors
def score(
    input: Annotated[Path, typer.Argument(help="documents to score (.jsonl[.gz] or .parquet with a 'text' column)")],
    out: Annotated[Path, typer.Option("--out", help="output Parquet: input columns + p_human + evidence")],
    home: Home = None,
    model_version: Annotated[
        int | None, typer.Option("--model-version", help="stored model version (default: latest)")
    ] = None,
    as_json: Json = False,
) -> None:
    """Score INPUT: p_human in [0, 1] and the evidence (JSON) for every document."""
    from tasks.core import provenance
    from tasks.core.config import AdmissionConfig
    from tasks.core.storage import DataRoot

    threshold = AdmissionConfig().min_p_human
    if not out.name.endswith(".parquet"):
        raise InputError(f"--out {out} must end in .parquet")
    root = DataRoot.at(use_home(home))
    cfg = provenance.ProvenanceConfig(model_version=model_version)
    model = provenance.load_model(root, cfg.model_version)
    docs = provenance.read_documents(input)
    scored = provenance.score(docs, cfg, model, provenance.load_registry(root))
    out.parent.mkdir(parents=True, exist_ok=True)
    scored.write_parquet(out)
    p = scored["p_human"]
    admitted = int((p >= threshold).sum())
    values = p.to_numpy()
    quantiles = np.quantile(values, [0.1, 0.5, 0.9]) if values.size else np.zeros(3)
    summary = {
        "mean": round(float(values.mean()) if values.size else 0.0, 4),
        "median": round(float(quantiles[1]), 4),
        "p10": round(float(quantiles[0]), 4),
        "p90": round(float(quantiles[2]), 4),
    }
    payload = {
        "documents": scored.height,
        "model_version": model.info.get("version"),
        "min_p_human": threshold,
        "at_or_above_threshold": admitted,
        "below_threshold": scored.height - admitted,
        "p_human": summary,
        "out": str(out),
    }
    text = (
        f"scored {scored.height} documents with model v{payload['model_version']} -> {out}\n"
        f"p_human >= {threshold}: {admitted}, below: {scored.height - admitted}; "
        f"mean {summary['mean']}, median {summary['median']}, p10 {summary['p10']}, p90 {summary['p90']}"
    )
    emit(payload, as_json, text)
