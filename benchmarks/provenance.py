"""Provenance classifier benchmark: separation, calibration, generalisation to unseen genres, speed.

    .venv/bin/python -m benchmarks.provenance [--quick] [--per-source N] [--seed S]

Writes ``benchmarks/results/provenance.json`` and ``.md`` (``provenance.quick.*`` with ``--quick``).
Needs ``../shared/corpus`` (or ``$WELLSPRING_CORPUS``); without it the benchmark says so and exits 0.

**Data.** Machine: all of ``machine.parquet`` (1,500 SmolLM2-135M replies, 6 task styles). Human: the
English rows of ``human.parquet``, at most N per source (default 300, a stable seeded sample), cut
to the machine length distribution (``tasks.core.provenance.model.training_set``). The classifier
and features are exactly those of ``train``. The positive class is *human*.

- (a) **random split**: stratified 80/20; ROC-AUC, precision at 95% recall of human texts, ECE
  (10 bins, classes weighted equally: the calibration prior).
- (b) **leave-one-out**: per machine ``task_style`` (train without it and without a random 20% of
  human texts; test on that style against those human texts) and per human ``source`` (train without
  it and without a random 20% of machine texts; test on that source against those machine texts).
- (c) **labeled_small.jsonl**: the model fit on all of the training set, scored on the 213 slopscore
  texts (``ai`` = machine); a different generator and genre, a smoke test only.
- **throughput**: ``score()`` end to end (metadata signals, classifier, evidence JSON) on a random
  sample of raw ``human.parquet`` rows, in a child process pinned to one CPU with
  ``POLARS_MAX_THREADS=1``; reading the input is not timed. Classifier-only time reported alongside.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.common import Skip, corpus_dir, load_average, machine, measure, table, write_results
from tasks.core.provenance import ProvenanceConfig, load_model, save_model, score
from tasks.core.provenance.metrics import summary
from tasks.core.provenance.model import fit, training_set
from tasks.core.storage import DataRoot


def _fold(
    data: pl.DataFrame, train_mask: np.ndarray, test_mask: np.ndarray, cfg: ProvenanceConfig, seed: int
) -> dict[str, Any]:
    y = data["label"].to_numpy()
    model = fit(data["text"].filter(pl.Series(train_mask)), y[train_mask], cfg, seed)
    p = model.predict(data["text"].filter(pl.Series(test_mask)))
    return summary(p, y[test_mask], train_prior=float(y[train_mask].mean()))


def evaluate(human: pl.DataFrame, machine_docs: pl.DataFrame, cfg: ProvenanceConfig, seed: int) -> dict[str, Any]:
    data = training_set(human, machine_docs, cfg, seed)
    y = data["label"].to_numpy()
    group = data["group"].to_numpy()
    rng = np.random.default_rng(seed)
    held = rng.random(data.height) < 0.2
    result: dict[str, Any] = {"training_set": {"human": int(y.sum()), "machine": int(len(y) - y.sum())}}
    strat = np.zeros(data.height, dtype=bool)
    for label in (0, 1):
        idx = np.flatnonzero(y == label)
        strat[rng.choice(idx, size=round(0.2 * len(idx)), replace=False)] = True
    started = time.perf_counter()
    result["random_split"] = _fold(data, ~strat, strat, cfg, seed)
    result["fit_seconds"] = round(time.perf_counter() - started, 2)
    folds: dict[str, Any] = {}
    for style in sorted(set(group[y == 0])):
        test = (group == style) | ((y == 1) & held)
        train_mask = (group != style) & ~((y == 1) & held)
        folds[f"task_style:{style}"] = _fold(data, train_mask, test, cfg, seed)
    for source in sorted(set(group[y == 1])):
        test = ((group == source) & (y == 1)) | ((y == 0) & held)
        train_mask = ~((group == source) & (y == 1)) & ~((y == 0) & held)
        folds[f"source:{source}"] = _fold(data, train_mask, test, cfg, seed)
    aucs = np.array([f["roc_auc"] for f in folds.values()])
    result["leave_one_out"] = {
        "folds": folds,
        "roc_auc_mean": round(float(aucs.mean()), 4),
        "roc_auc_min": round(float(aucs.min()), 4),
        "worst": min(folds, key=lambda k: folds[k]["roc_auc"]),
        "ece_mean": round(float(np.mean([f["ece"] for f in folds.values()])), 4),
        "ece_natural_mean": round(float(np.mean([f["ece_natural"] for f in folds.values()])), 4),
    }
    return result


def throughput_child(home: str, docs_path: str) -> int:
    from benchmarks.common import emit

    root = DataRoot.at(home)
    model = load_model(root)
    docs = pl.read_parquet(docs_path)
    cfg = ProvenanceConfig()
    score(docs.head(200), cfg, model)  # warm-up: regex compilation, imports
    started, cpu = time.perf_counter(), time.process_time()
    scored = score(docs, cfg, model)
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu
    cpu = time.process_time()
    model.predict(docs["text"])
    classifier_cpu = time.process_time() - cpu
    emit(
        {
            "documents": scored.height,
            "mean_chars": round(float(docs["text"].str.len_chars().to_numpy().mean()), 1),
            "score_seconds": round(total, 3),
            "docs_per_second": round(scored.height / total, 1),
            "cpu_seconds": round(total_cpu, 3),
            "docs_per_cpu_second": round(scored.height / total_cpu, 1),
            "classifier_docs_per_cpu_second": round(scored.height / classifier_cpu, 1),
        }
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.provenance", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 human documents per source, 2,000 for throughput")
    parser.add_argument("--per-source", type=int, default=None, help="human documents per source (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--throughput-child", nargs=2, metavar=("HOME", "DOCS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.throughput_child:
        return throughput_child(*args.throughput_child)
    try:
        corpus = corpus_dir()
    except Skip as e:
        print(f"provenance benchmark skipped: {e}")
        return 0
    per_source = args.per_source or (100 if args.quick else 300)
    n_speed = 2_000 if args.quick else 10_000
    cfg = ProvenanceConfig(train_per_source=per_source)
    human_all = pl.read_parquet(corpus / "human.parquet")
    human = human_all.filter(pl.col("lang") == "en")
    machine_docs = pl.read_parquet(corpus / "machine.parquet")
    started = time.perf_counter()
    result: dict[str, Any] = {
        "command": "python -m benchmarks.provenance" + (" --quick" if args.quick else ""),
        "machine": machine(),
        "config": {"train_per_source": per_source, "seed": args.seed, "config_hash": cfg.config_hash()},
    }
    result.update(evaluate(human, machine_docs, cfg, args.seed))

    data = training_set(human, machine_docs, cfg, args.seed)
    full = fit(data["text"], data["label"].to_numpy(), cfg, args.seed)
    labeled = pl.read_ndjson(corpus / "labeled_small.jsonl")
    y_small = (labeled["label"] == "human").cast(pl.Int8).to_numpy()
    # a different generator and genre, a smoke test: its own mix is the natural prior
    result["labeled_small"] = summary(full.predict(labeled["text"]), y_small)

    with tempfile.TemporaryDirectory() as tmp:
        root = DataRoot.at(Path(tmp) / "home")
        save_model(root, full, {})
        docs_path = Path(tmp) / "docs.parquet"
        human_all.sample(min(n_speed, human_all.height), seed=args.seed).rename({"origin": "url"}).write_parquet(
            docs_path
        )
        child = measure(
            [sys.executable, "-m", "benchmarks.provenance", "--throughput-child", str(root.home), str(docs_path)],
            cpus={min(os.sched_getaffinity(0))},
            env={"POLARS_MAX_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
        )
        if not child.ok:
            raise RuntimeError(f"throughput child failed: {child.stderr_tail}")
        result["throughput"] = {
            **child.report,
            "peak_rss_mb": round(child.peak_rss_mb, 1),
            "load_average": load_average(),
        }
    result["seconds"] = round(time.perf_counter() - started, 1)

    name = "provenance.quick" if args.quick else "provenance"
    json_path, md_path = write_results(name, result, markdown(result))
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(r: dict[str, Any]) -> str:
    loo = r["leave_one_out"]
    head = [
        "evaluation",
        "ROC-AUC",
        "precision @ 95% human recall",
        "ECE (even prior)",
        "ECE (natural mix)",
        "human",
        "machine",
    ]

    def row(name: str, m: dict[str, Any]) -> list[Any]:
        return [name, m["roc_auc"], m["precision_at_95_recall"], m["ece"], m["ece_natural"], m["human"], m["machine"]]

    rows = [row("(a) random split 80/20", r["random_split"])]
    rows += [row(f"(b) without {k}", v) for k, v in sorted(loo["folds"].items(), key=lambda kv: kv[1]["roc_auc"])]
    rows += [row("(c) labeled_small.jsonl", r["labeled_small"])]
    t = r["throughput"]
    return "\n".join(
        [
            "# Provenance classifier benchmark",
            "",
            f"`{r['command']}` on {r['machine']['platform']}, {r['machine']['cpus']} CPUs, {r['machine']['date']}.",
            f"Training set: {r['training_set']['human']} human (at most {r['config']['train_per_source']} per source, "
            f"length-matched) and {r['training_set']['machine']} machine texts; seed {r['config']['seed']}.",
            "",
            f"**Leave-one-out ROC-AUC: mean {loo['roc_auc_mean']}, min {loo['roc_auc_min']} ({loo['worst']}); "
            f"mean ECE {loo['ece_mean']} (even prior), {loo['ece_natural_mean']} (natural mix).**",
            "",
            "ECE (even prior): what the model claims, P(human) when both classes are equally likely (each class",
            "weighs half). ECE (natural mix): the test set as it is, unweighted, scored with the posterior under",
            "the training set's human share (for (c), its own share).",
            "",
            table(head, rows),
            "",
            f"Throughput (`score()` end to end, one CPU, {t['documents']} raw human.parquet rows, mean "
            f"{t['mean_chars']} chars): **{t['docs_per_second']} docs/s wall, {t['docs_per_cpu_second']} docs per "
            f"CPU-second** (classifier alone {t['classifier_docs_per_cpu_second']} docs per CPU-second), peak RSS "
            f"{t['peak_rss_mb']} MB, load average {t['load_average']}. Wall time depends on what else runs on the "
            "machine; CPU time does not.",
            "",
            f"Total {r['seconds']} s.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
