"""The collapse benchmark: recursive training on generated data under different data policies.

Public API::

    CollapseConfig, CollapseConfig.quick()                  # settings
    human_documents(cfg, corpus=None) -> DataFrame          # sample data, or a corpus Parquet file
    run_benchmark(cfg, workdir, corpus=None, log=None) -> dict   # policies -> name -> metric -> [per generation]
    write_outputs(result, out_dir) -> {json, report, plots}
    markdown(result), final_rows(result), headline(result)
    BigramLM, Vocabulary                                     # the text model (``ngram``)
    fit_gaussian, variance_chains, wasserstein2, ...         # the closed-form model (``gaussian``)

No Prefect here: ``flows/collapse.py`` wraps :func:`run_benchmark` and publishes artifacts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from tasks.core.collapse.config import BASE_POLICIES, CollapseConfig
from tasks.core.collapse.curation import CurationLoop
from tasks.core.collapse.gaussian import (
    GaussianFit,
    expected_replace_log_ratio,
    expected_replace_ratio,
    fit_gaussian,
    variance_chains,
    variance_ratio,
    wasserstein2,
)
from tasks.core.collapse.human import HumanSplit, read_corpus, read_documents, split
from tasks.core.collapse.ngram import BigramLM, Vocabulary, detokenize, tokenize
from tasks.core.collapse.report import final_rows, headline, markdown, write_outputs, write_plots
from tasks.core.collapse.simulate import METRICS, run_collapse, sanity_checks
from tasks.core.errors import InputError, WellspringError

REPO = Path(__file__).resolve().parents[3]
SAMPLE_INBOX = REPO / "sample_data" / "inbox"


def default_corpus() -> Path:
    """``$WELLSPRING_CORPUS/human.parquet``, else ``../shared/corpus/human.parquet`` next to the repository;
    :class:`~tasks.core.errors.InputError` when it is not there."""
    folder = Path(os.environ.get("WELLSPRING_CORPUS", REPO.parent / "shared" / "corpus"))
    path = folder / "human.parquet"
    if not path.is_file():
        raise InputError(
            f"the full collapse benchmark needs the shared corpus ({path} not found); set WELLSPRING_CORPUS "
            "to the folder holding human.parquet, or run the quick setting on the sample data"
        )
    return path


def human_documents(cfg: CollapseConfig, corpus: Path | None = None) -> pl.DataFrame:
    """The human documents of an experiment: a seeded sample of ``corpus`` (a Parquet file with ``text``
    and ``source``), or every readable document of the shipped sample inbox."""
    if corpus is not None:
        return read_corpus(corpus, cfg.human_docs_needed(), cfg.seed)
    return read_documents([SAMPLE_INBOX])


def run_benchmark(
    cfg: CollapseConfig, workdir: Path, corpus: Path | None = None, log: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Load the human documents, split them and run every policy (see ``simulate``).

    ``workdir`` holds the private data root of the ``wellspring`` policy; it must not hold one yet, so
    a result never mixes two experiments' reservoirs."""
    if (workdir / "home").exists():
        raise WellspringError(f"{workdir} already holds a collapse experiment; choose another folder or remove it")
    docs = human_documents(cfg, corpus)
    human = split(docs, cfg.heldout_docs, cfg.initial_docs, cfg.fresh_docs, cfg.generations, cfg.seed)
    result = run_collapse(human, cfg, workdir, log)
    result["data"]["human_source"] = str(corpus) if corpus is not None else "sample_data/inbox"
    return result


__all__ = [
    "BASE_POLICIES",
    "METRICS",
    "BigramLM",
    "CollapseConfig",
    "CurationLoop",
    "GaussianFit",
    "HumanSplit",
    "Vocabulary",
    "default_corpus",
    "detokenize",
    "expected_replace_log_ratio",
    "expected_replace_ratio",
    "final_rows",
    "fit_gaussian",
    "headline",
    "human_documents",
    "markdown",
    "read_corpus",
    "read_documents",
    "run_benchmark",
    "run_collapse",
    "sanity_checks",
    "split",
    "tokenize",
    "variance_chains",
    "variance_ratio",
    "wasserstein2",
    "write_outputs",
    "write_plots",
]
