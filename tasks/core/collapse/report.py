"""What the collapse benchmark writes: the curves as JSON, one PNG per metric, a plain-words report."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

TARGET_RETENTION = 0.9
TARGET_PERPLEXITY = 0.1
REPLACE_LOSS = 0.5

# the columns of the final-metrics table, in order, with how they are printed
TABLE_COLUMNS: dict[str, str] = {
    "perplexity": "{:.1f}",
    "perplexity_ratio": "{:.3f}",
    "vocab_retention": "{:.3f}",
    "vocab_survival": "{:.3f}",
    "tail_mass_ratio": "{:.3f}",
    "distinct_2": "{:.3f}",
    "cluster_entropy": "{:.3f}",
    "vendi_score": "{:.1f}",
    "gaussian_variance_ratio": "{:.3f}",
    "gaussian_w2": "{:.3f}",
    "leak_rate": "{:.1%}",
    "build_synthetic_share": "{:.1%}",
}


def _last(values: list[Any]) -> Any:
    return values[-1] if values else None


def final_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per policy: the metrics of the last generation (``None`` where a metric does not apply)."""
    rows = []
    for name, curves in result["policies"].items():
        row: dict[str, Any] = {"policy": name, "generation": len(curves["perplexity"]) - 1}
        for column in TABLE_COLUMNS:
            value = _last(curves.get(column, []))
            row[column] = None if value is None or (isinstance(value, float) and math.isnan(value)) else value
        rows.append(row)
    return rows


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The acceptance targets, each with its measured value and whether it was met."""
    policies = result["policies"]
    checks: dict[str, Any] = {}
    if "wellspring" in policies:
        w = policies["wellspring"]
        checks["wellspring_vocab_retention"] = _check(_last(w["vocab_retention"]), ">=", TARGET_RETENTION)
        checks["wellspring_tail_mass_ratio"] = _check(_last(w["tail_mass_ratio"]), ">=", TARGET_RETENTION)
        checks["wellspring_perplexity_change"] = _check(abs(_last(w["perplexity_ratio"]) - 1), "<=", TARGET_PERPLEXITY)
    if "replace" in policies:
        checks["replace_vocab_retention"] = _check(_last(policies["replace"]["vocab_retention"]), "<=", REPLACE_LOSS)
    return checks


def _check(value: float, op: str, target: float) -> dict[str, Any]:
    met = value >= target if op == ">=" else value <= target
    return {"value": value, "target": f"{op} {target}", "met": bool(met)}


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else spec.format(value)


def markdown(result: dict[str, Any], plots: list[str] | None = None) -> str:
    """The report: what was run, the result in plain words, the final metrics, the sanity checks."""
    cfg = result["config"]
    g = result["generations"]
    data = result["data"]
    policies = result["policies"]
    lines = [
        "# Collapse benchmark",
        "",
        f"A word-bigram language model (interpolated Kneser-Ney) and a Gaussian mixture "
        f"({cfg['gaussian_components']} components, {cfg['gaussian_dims']} principal components of the diversity "
        f"representation) are retrained for {g} generations on data chosen by each policy. Every training set has "
        f"{cfg['train_docs']} documents (accumulate: all real and synthetic data so far); generation 0 is a build of "
        f"{data['generation0_docs']} documents from a reservoir curated from {data['initial_docs']} human documents. "
        f"`wellspring` curates each generation's samples together with {data['fresh_docs_per_generation']} fresh human "
        f"documents through the real nightly stages and builds the next training set from the reservoir. "
        f"Perplexity is measured on {data['heldout_docs']} held-out human documents ({data['heldout_tokens']:,} tokens).",
        "",
        "Provenance stage: **included**: every `wellspring` generation runs the full nightly stage sequence "
        "(`tasks.core.pipeline.curate_inbox`).",
        "",
        "## Result",
        "",
        *_plain_words(result),
        "",
        f"## Final metrics (generation {g})",
        "",
    ]
    header = ["policy", *TABLE_COLUMNS]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| " + " | ".join("---" for _ in header) + " |")
    for row in final_rows(result):
        cells = [row["policy"], *(_fmt(row[c], spec) for c, spec in TABLE_COLUMNS.items())]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Generation 0 of every policy: " + _generation0(policies), ""]
    lines += ["## Metrics", ""]
    lines += [f"- `{k}`: {v}" for k, v in result["metrics"].items()]
    sanity = result.get("sanity")
    if sanity:
        lines += [
            "",
            "## Sanity check: 1-D Gaussian refit",
            "",
            f"Mean of σ²_g/σ²_0 over {sanity['chains']} seeds, M = {sanity['m']} samples per generation, MLE refit. "
            "Theory for `replace`: ((M-1)/M)^g ≈ exp(-g/M) (Shumailov et al. 2024); `accumulate` stays bounded "
            "(Gerstgrasser et al. 2024).",
            "",
            "| generation | replace (theory) | replace | accumulate | fixed-real |",
            "| --- | --- | --- | --- | --- |",
        ]
        measured = sanity["mean_variance_ratio"]
        steps = sorted(
            {0, *range(0, sanity["generations"] + 1, max(1, sanity["generations"] // 4)), sanity["generations"]}
        )
        for k in steps:
            lines.append(
                f"| {k} | {sanity['replace_theory'][k]:.3f} | {measured['replace'][k]:.3f} | "
                f"{measured['accumulate'][k]:.3f} | {measured['fixed-real'][k]:.3f} |"
            )
    if plots:
        lines += ["", "## Plots", "", *(f"![{Path(p).stem}]({p})" for p in plots)]
    seconds = result.get("seconds", {})
    if seconds:
        lines += ["", "Seconds: " + ", ".join(f"{k} {v}" for k, v in seconds.items())]
    return "\n".join(lines) + "\n"


def _generation0(policies: dict[str, Any]) -> str:
    any_curves = next(iter(policies.values()))
    return (
        f"perplexity {any_curves['perplexity'][0]:.1f}, distinct-2 {any_curves['distinct_2'][0]:.3f}, "
        f"tail mass {any_curves['tail_mass'][0]:.3f}, Vendi {any_curves['vendi_score'][0]:.1f} "
        "(the `+top-p` variants start from the same model, sampled with truncation)."
    )


def _plain_words(result: dict[str, Any]) -> list[str]:
    policies = result["policies"]
    g = result["generations"]
    out = []
    for name, curves in policies.items():
        out.append(
            f"- **{name}**: after {g} generations the samples keep {_last(curves['vocab_retention']):.0%} of generation "
            f"0's vocabulary (the model keeps {_last(curves['vocab_survival']):.0%} of its words) and "
            f"{_last(curves['tail_mass_ratio']):.0%} of its tail mass; held-out perplexity is "
            f"{_last(curves['perplexity_ratio']):.2f}x generation 0's"
            + (
                f"; the Gaussian keeps {_last(curves['gaussian_variance_ratio']):.0%} of its variance."
                if _last(curves.get("gaussian_variance_ratio", [])) is not None
                else "."
            )
            + (
                f" {_last(curves['leak_rate']):.0%} of the inbox's synthetic documents were admitted in the last "
                f"generation; the last build was {_last(curves['build_synthetic_share']):.0%} synthetic."
                if "leak_rate" in curves and _last(curves["leak_rate"]) is not None
                else ""
            )
        )
    checks = headline(result)
    if checks:
        out += [
            "",
            "Targets (set for 20 generations on the shared corpus; a shorter run only shows the direction):",
            "",
        ]
        names = {
            "wellspring_vocab_retention": "wellspring keeps >= 90% of generation 0's vocabulary",
            "wellspring_tail_mass_ratio": "wellspring keeps >= 90% of generation 0's tail mass",
            "wellspring_perplexity_change": "wellspring's held-out perplexity within 10% of generation 0's",
            "replace_vocab_retention": "replace loses at least half of its vocabulary",
        }
        for key, check in checks.items():
            out.append(
                f"- {names[key]}: {'met' if check['met'] else '**missed**'} (measured {check['value']:.3f}, "
                f"target {check['target']})"
            )
        missed = [k for k, c in checks.items() if not c["met"] and k.startswith("wellspring")]
        if missed:
            out += ["", _what_would_fix(result, missed)]
    return out


def _what_would_fix(result: dict[str, Any], missed: list[str]) -> str:
    w = result["policies"]["wellspring"]
    share = _last(w["build_synthetic_share"])
    reservoir = _last(w["reservoir_synthetic_share"])
    leak = _last(w["leak_rate"])
    return (
        f"What would fix it: {leak:.0%} of the synthetic inbox documents were admitted, so the reservoir ended "
        f"{reservoir:.0%} synthetic. The build rules already pulled the build's share down to {share:.0%} "
        "(cluster-balanced weights with `cluster_temperature` 0.5 and the per-source cap spread the draw away from "
        "the clusters synthetic text crowds into), but they cannot tell a synthetic document from a human one "
        "without a score: `min_human` only counts documents passed as `--synthetic`, and the `p_human ** "
        "p_human_power` weight needs a `p_human` column. With the provenance stage in the nightly run, "
        "`admission.min_p_human` (0.5 by default) drops synthetic text at admission and `p_human_power` "
        "(raise it above 1) down-weights what slips through; until then a build pinned to a reservoir version "
        "from before synthetic text circulated, or more fresh human documents per run, bounds the share."
    )


def write_plots(result: dict[str, Any], out_dir: Path) -> list[Path]:
    """One PNG per metric with one line per policy (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    names: list[str] = []
    for curves in result["policies"].values():
        names += [k for k in curves if k not in names and k in result["metrics"]]
    for metric in names:
        fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
        for policy, curves in result["policies"].items():
            values = curves.get(metric)
            if not values:
                continue
            xs = [i for i, v in enumerate(values) if v is not None]
            ax.plot(xs, [values[i] for i in xs], marker="o", markersize=3, label=policy)
        ax.set_xlabel("generation")
        ax.set_ylabel(metric)
        ax.set_title(result["metrics"].get(metric, metric), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / f"{metric}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def write_outputs(result: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """``collapse.json`` (all curves), ``plots/<metric>.png`` and ``report.md`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "collapse.json"
    json_path.write_text(json.dumps(result, indent=2, default=_plain) + "\n")
    plots = write_plots(result, out_dir / "plots")
    report_path = out_dir / "report.md"
    report_path.write_text(markdown(result, [str(p.relative_to(out_dir)) for p in plots]))
    return {"json": json_path, "report": report_path, "plots": out_dir / "plots"}


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
