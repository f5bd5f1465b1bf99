"""Diversity of a reservoir version, its change since the previous version, and a report with plots.

:func:`diversity_summary` gives the numbers (for the nightly run summary and ``--json``);
:func:`diversity_report` also writes ``diversity.md`` with two PNG plots (cluster-size distribution
and the rank-frequency curve of the lexical sample, each against the previous version). Both use
the latest stored model, fitting and storing a new one when there is none or it is stale
(:func:`~tasks.core.diversity.model.needs_refresh`). The previous version is compared through the
same model, so cluster shares and Vendi are in one space; documents present in both versions are
embedded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tasks.core.diversity.config import DiversityConfig
from tasks.core.diversity.metrics import DiversityMetrics, Lexicon, measure
from tasks.core.diversity.model import DiversityModel, assign, fit_and_assign, refresh_reason
from tasks.core.diversity.store import latest_model, save_model
from tasks.core.errors import NotFoundError
from tasks.core.schema import require
from tasks.core.storage import DataRoot

REPORT_FILE = "diversity.md"
CLUSTER_PLOT = "cluster_sizes.png"
RANK_PLOT = "rank_frequency.png"


@dataclass(frozen=True)
class DiversitySummary:
    """Metrics of a reservoir version and their change since the previous version."""

    version: int
    previous_version: int | None
    model_version: int | None
    model_refit: str | None  # why a model was fit for this summary (None: the stored one was fresh)
    metrics: DiversityMetrics
    previous: DiversityMetrics | None

    @property
    def change(self) -> dict[str, float | None]:
        """``metric - previous metric`` for every metric (None where either side is undefined)."""
        now = self.metrics.to_dict()
        before = self.previous.to_dict() if self.previous else {}
        return {
            k: (v - before[k] if isinstance(v, int | float) and isinstance(before.get(k), int | float) else None)
            for k, v in now.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """Every metric by name at the top level, plus ``previous`` and ``change`` by name."""
        return {
            "reservoir_version": self.version,
            "previous_version": self.previous_version,
            "model_version": self.model_version,
            "model_refit": self.model_refit,
            **self.metrics.to_dict(),
            "previous": self.previous.to_dict() if self.previous else None,
            "change": self.change,
        }


@dataclass(frozen=True)
class _Side:
    metrics: DiversityMetrics
    lexicon: Lexicon
    cluster_sizes: np.ndarray  # documents per cluster


def _resolve_version(root: DataRoot, version: int | None) -> int:
    latest = root.ref("reservoir").version
    if latest is None:
        raise NotFoundError(f"the reservoir in {root.home} is empty; nothing to report on")
    if version is None:
        return latest
    if not 0 <= version <= latest:
        raise NotFoundError(f"the reservoir has no version {version} (latest is {latest})")
    return version


def _documents(root: DataRoot, version: int) -> pl.DataFrame:
    scan = root.scan("reservoir", version=version)
    require(scan, ["doc_id", "text"], "diversity report")
    return scan.select("doc_id", "text").collect()


def _side(docs: pl.DataFrame, clusters: pl.Series, model: DiversityModel, cfg: DiversityConfig) -> _Side:
    metrics, lexicon = measure(docs["text"], cfg, clusters=clusters, representation=model.representation)
    sizes = np.bincount(clusters.to_numpy(), minlength=model.n_clusters)
    return _Side(metrics, lexicon, sizes)


def _analyse(
    root: DataRoot, version: int | None, cfg: DiversityConfig
) -> tuple[DiversitySummary, _Side, _Side | None, DiversityModel]:
    chosen = _resolve_version(root, version)
    docs = _documents(root, chosen)
    if docs.height == 0:
        raise NotFoundError(f"reservoir version {chosen} has no documents")
    model = latest_model(root)
    reason = refresh_reason(model, docs.height, cfg)
    if model is None or reason is not None:
        fitted, assigned = fit_and_assign(docs, cfg, reservoir_version=chosen)
        model = save_model(root, fitted)
    else:
        assigned = assign(docs, model)
    current = _side(docs, assigned["cluster_id"], model, cfg)

    previous: _Side | None = None
    previous_version = chosen - 1 if chosen > 0 else None
    if previous_version is not None:
        before = _documents(root, previous_version)
        if before.height:
            known = before.join(assigned.select("doc_id", "cluster_id"), on="doc_id", how="left")
            missing = known.filter(pl.col("cluster_id").is_null()).select("doc_id", "text")
            if missing.height:
                extra = assign(missing, model).select("doc_id", pl.col("cluster_id").alias("extra"))
                known = known.join(extra, on="doc_id", how="left").with_columns(
                    pl.coalesce("cluster_id", "extra").alias("cluster_id")
                )
            previous = _side(before, known["cluster_id"], model, cfg)

    summary = DiversitySummary(
        version=chosen,
        previous_version=previous_version if previous is not None else None,
        model_version=model.info.version,
        model_refit=reason,
        metrics=current.metrics,
        previous=previous.metrics if previous else None,
    )
    return summary, current, previous, model


def diversity_summary(
    root: DataRoot, version: int | None = None, cfg: DiversityConfig | None = None
) -> DiversitySummary:
    """Metrics of reservoir ``version`` (default: latest) and their change since the version before."""
    return _analyse(root, version, cfg or DiversityConfig())[0]


def diversity_report(
    root: DataRoot,
    version: int | None = None,
    out_dir: str | Path | None = None,
    cfg: DiversityConfig | None = None,
) -> Path:
    """Write ``diversity.md`` and its PNG plots for reservoir ``version``; return the markdown's path.

    ``out_dir`` defaults to ``<home>/reports/diversity/v<version>``.
    """
    return write_report(root, version, out_dir, cfg)[0]


def write_report(
    root: DataRoot,
    version: int | None = None,
    out_dir: str | Path | None = None,
    cfg: DiversityConfig | None = None,
) -> tuple[Path, DiversitySummary]:
    """:func:`diversity_report` and the summary it shows (one pass, for the CLI)."""
    cfg = cfg or DiversityConfig()
    summary, current, previous, model = _analyse(root, version, cfg)
    out = Path(out_dir) if out_dir is not None else root.path("reports", "diversity", f"v{summary.version}")
    out.mkdir(parents=True, exist_ok=True)
    _cluster_plot(out / CLUSTER_PLOT, summary, current, previous)
    _rank_plot(out / RANK_PLOT, summary, current, previous)
    path = out / REPORT_FILE
    path.write_text(report_markdown(summary, model, cfg))
    return path, summary


def _label(version: int | None) -> str:
    return f"reservoir v{version}"


def _cluster_plot(path: Path, summary: DiversitySummary, current: _Side, previous: _Side | None) -> None:
    from matplotlib.figure import Figure  # imported here: only reports draw, and matplotlib is slow to import

    fig = Figure(figsize=(8, 4), dpi=100)
    ax = fig.subplots()
    order = np.argsort(-current.cluster_sizes, kind="stable")
    ranks = np.arange(1, len(order) + 1)
    ax.bar(ranks, current.cluster_sizes[order] / current.cluster_sizes.sum(), label=_label(summary.version))
    if previous is not None and previous.cluster_sizes.sum():
        shares = previous.cluster_sizes[order] / previous.cluster_sizes.sum()
        ax.step(ranks, shares, where="mid", color="black", label=_label(summary.previous_version))
    ax.axhline(1 / len(order), color="grey", linestyle=":", label="even spread")
    ax.set_xlabel("cluster (largest first in this version)")
    ax.set_ylabel("share of documents")
    ax.set_title("Cluster-size distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def _rank_plot(path: Path, summary: DiversitySummary, current: _Side, previous: _Side | None) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.5), dpi=100)
    ax = fig.subplots()
    for side, version, style in ((current, summary.version, "-"), (previous, summary.previous_version, "--")):
        if side is not None and len(side.lexicon.counts):
            freq = side.lexicon.frequencies()
            ax.loglog(
                np.arange(1, len(freq) + 1), freq, style, label=f"{_label(version)} ({side.lexicon.tokens:,} tokens)"
            )
    ax.set_xlabel("rank")
    ax.set_ylabel("relative frequency")
    ax.set_title("Rank-frequency of the lexical sample")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _signed(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:+,}" if isinstance(value, int) else f"{value:+.4g}"


def report_markdown(summary: DiversitySummary, model: DiversityModel, cfg: DiversityConfig) -> str:
    """The markdown report of ``summary`` (plots referenced by their file names)."""
    previous = summary.previous.to_dict() if summary.previous else {}
    change = summary.change
    rows = [
        f"| `{name}` | {_fmt(value)} | {_fmt(previous.get(name))} | {_signed(change[name])} |"
        for name, value in summary.metrics.to_dict().items()
    ]
    info = model.info
    lines = [
        f"# Diversity of reservoir v{summary.version}",
        "",
        f"Compared with {_label(summary.previous_version) if summary.previous else 'no previous version'}. "
        f"Model v{info.version} ({info.backend}, {info.n_clusters} clusters, {info.dim} dimensions), "
        f"fit on {info.fitted_docs:,} documents of reservoir v{info.reservoir_version}"
        + (f"; refit for this report because {summary.model_refit}." if summary.model_refit else "."),
        "",
        "| metric | this version | previous | change |",
        "| --- | ---: | ---: | ---: |",
        *rows,
        "",
        f"Lexical metrics read at most {cfg.lexical_tokens:,} tokens (`tokens`), Vendi and pairwise cosine at most",
        f"{cfg.sample_size:,} documents (`sample_documents`): two versions compare fairly once both fill these budgets;",
        "below them, distinct-n and vocabulary depend on the amount of text. Higher distinct-n, entropy, tail mass,",
        "vocabulary, cluster entropy and Vendi, and lower compression ratio and pairwise cosine, mean more diverse.",
        "",
        "## Cluster-size distribution",
        "",
        f"![cluster sizes]({CLUSTER_PLOT})",
        "",
        "## Rank-frequency curve",
        "",
        f"![rank-frequency]({RANK_PLOT})",
        "",
    ]
    return "\n".join(lines)
