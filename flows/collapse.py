"""The collapse benchmark as a flow: recursive training under each data policy, with a report in the UI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks.core.collapse import CollapseConfig, default_corpus, final_rows, markdown, run_benchmark, write_outputs
from tasks.core.storage import DataRoot


def _run_name() -> str:
    return f"collapse-bench-{dt.datetime.now(dt.UTC):%Y-%m-%d-%H%M}"


@task(name="simulate-generations")
def simulate_generations(cfg: CollapseConfig, workdir: str, corpus: str | None) -> dict[str, Any]:
    """Every policy for every generation (the wellspring policy through the real nightly stages)."""
    logger = get_run_logger()
    return run_benchmark(cfg, Path(workdir), Path(corpus) if corpus else None, log=logger.info)


@task(name="publish-collapse-report")
def publish_collapse_report(result: dict[str, Any], out: str) -> dict[str, str]:
    """Write the JSON, plots and report into ``out``; the report and the final metrics as artifacts."""
    written = write_outputs(result, Path(out))
    create_markdown_artifact(
        key="collapse-report", markdown=markdown(result), description=f"{result['generations']} generations"
    )
    create_table_artifact(
        key="collapse-final-metrics", table=final_rows(result), description="Last generation's metrics per policy"
    )
    return {k: str(v) for k, v in written.items()}


@flow(name="collapse-bench", flow_run_name=_run_name, log_prints=True)
def collapse_bench_flow(
    generations: int | None = None,
    quick: bool = False,
    out: str | None = None,
    home: str | None = None,
    corpus: str | None = None,
) -> dict[str, Any]:
    """Train a bigram language model and a Gaussian mixture on their own samples for ``generations``
    generations under each policy; write ``collapse.json``, ``plots/`` and ``report.md`` into ``out``
    (default ``<home>/collapse/<run>``) and return the result with the files written.

    ``quick``: 3 generations on the shipped sample data. Otherwise the shared corpus (``corpus``, default
    ``$WELLSPRING_CORPUS`` or ``../shared/corpus/human.parquet``).
    """
    changes = {} if generations is None else {"generations": generations}
    cfg = CollapseConfig.quick(**changes) if quick else CollapseConfig.model_validate(changes)
    source = None if quick else str(Path(corpus) if corpus else default_corpus())
    folder = Path(out) if out else DataRoot.at(home).path("collapse", _run_name())
    result = simulate_generations(cfg, str(folder / "work"), source)
    files = publish_collapse_report(result, str(folder))
    return {**result, "out_dir": str(folder), "files": files}
