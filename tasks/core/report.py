"""Human-readable renderings of run summaries (markdown for the Prefect UI and the terminal)."""

from __future__ import annotations


def run_markdown(summary: dict[str, object]) -> str:
    """A markdown page: counts per stage, top drop and quarantine reasons, table versions."""
    dropped: dict[str, int] = summary.get("dropped", {})  # type: ignore[assignment]
    by_stage: dict[str, int] = summary.get("dropped_by_stage", {})  # type: ignore[assignment]
    quarantined: dict[str, int] = summary.get("quarantine_reasons", {})  # type: ignore[assignment]
    versions: dict[str, int | None] = summary.get("versions", {})  # type: ignore[assignment]
    lines = [
        f"# Nightly run `{summary['run_id']}`",
        "",
        "| stage | records |",
        "| --- | ---: |",
        f"| ingested | {summary['ingested']} |",
        f"| quarantined (bad rows and files) | {summary['quarantined']} |",
        *(f"| dropped at {stage} | {n} |" for stage, n in by_stage.items()),
        f"| **admitted to the reservoir** | **{summary['admitted']}** |",
        "",
        "## Why records were dropped",
        "",
        *_reason_table(dropped),
        "",
        *_provenance_lines(summary.get("p_human") or {}),  # type: ignore[arg-type]
        "## Personal data redacted in admitted documents",
        "",
        *_reason_table(summary.get("pii_redacted_documents", {})),  # type: ignore[arg-type]
        "",
        "## Why rows or files were quarantined",
        "",
        *_reason_table(quarantined),
        "",
        *_diversity_lines(summary.get("diversity") or {}),  # type: ignore[arg-type]
        "## Table versions after this run",
        "",
        "| table | version |",
        "| --- | ---: |",
        *(f"| {t} | {v if v is not None else '-'} |" for t, v in versions.items()),
        "",
        f"Data root: `{summary.get('home', '')}`. Explain any document with `wellspring explain DOC_ID`.",
    ]
    return "\n".join(lines)


def _reason_table(counts: dict[str, int]) -> list[str]:
    if not counts:
        return ["None."]
    return ["| reason | records |", "| --- | ---: |", *(f"| `{r}` | {n} |" for r, n in counts.items())]


METRICS = (
    "distinct_1",
    "distinct_2",
    "unigram_entropy",
    "tail_mass",
    "vocabulary_size",
    "cluster_entropy",
    "vendi_score",
)


def _diversity_lines(diversity: dict[str, dict[str, object]]) -> list[str]:
    if not diversity:
        return []
    batch, res = diversity.get("batch", {}), diversity.get("reservoir", {})
    change: dict[str, object] = res.get("change") or {}  # type: ignore[assignment]
    rows = [
        f"| {m} | {_num(batch.get(m))} | {_num(res.get(m))} | {_num(change.get(m), signed=True)} |" for m in METRICS
    ]
    return [
        "## Diversity",
        "",
        f"Admitted this run vs the reservoir (version {res.get('reservoir_version')}, change since "
        f"version {res.get('previous_version')}).",
        "",
        "| metric | admitted batch | reservoir | change |",
        "| --- | ---: | ---: | ---: |",
        *rows,
        "",
    ]


def _num(value: object, signed: bool = False) -> str:
    if not isinstance(value, int | float):
        return "-"
    if isinstance(value, int) and not signed:
        return f"{value:,}"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _provenance_lines(p_human: dict[str, object]) -> list[str]:
    if not p_human:
        return []
    histogram: dict[str, int] = p_human.get("histogram", {})  # type: ignore[assignment]
    signals: dict[str, int] = p_human.get("top_signals", {})  # type: ignore[assignment]
    return [
        "## Provenance (p_human)",
        "",
        f"{p_human.get('scored')} records scored, mean p_human {p_human.get('mean')}.",
        "",
        "| p_human | records |",
        "| --- | ---: |",
        *(f"| {k} | {v} |" for k, v in histogram.items()),
        "",
        "Most common evidence: " + ", ".join(f"`{k}` ({v})" for k, v in signals.items()),
        "",
    ]
