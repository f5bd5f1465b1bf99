"""Collapse benchmark: recursive training under replace / accumulate / fixed-real / wellspring policies.

    .venv/bin/python -m benchmarks.collapse [--quick] [--generations N]

Full run: 20 generations on ``../shared/corpus/human.parquet`` (or ``$WELLSPRING_CORPUS``), about ten
minutes on 2 cores; without the corpus it says so and exits 0. ``--quick``: 3 generations on the
shipped ``sample_data/inbox`` (no corpus needed, about a minute).

Writes ``benchmarks/results/collapse.json`` (every curve: ``policies -> name -> metric -> [per
generation]``), ``collapse.md`` (the report) and ``collapse/plots/<metric>.png`` (``collapse.quick.*``
with ``--quick``). The private data root the ``wellspring`` policy curates into stays in
``benchmarks/.work/collapse[.quick]/home`` for inspection (``wellspring reservoir log --home ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import common

NAME = "collapse"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.collapse", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 generations on the shipped sample data")
    parser.add_argument("--generations", type=int, default=None, help="generations after generation 0")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report and plots from the JSON")
    args = parser.parse_args(argv)

    from tasks.core.collapse import CollapseConfig, headline, run_benchmark

    name = f"{NAME}.quick" if args.quick else NAME
    if args.report_only:
        result = json.loads((common.RESULTS / f"{name}.json").read_text())
        _write_report(name, result)
        return 0

    changes = {} if args.generations is None else {"generations": args.generations}
    if args.quick:
        cfg, corpus = CollapseConfig.quick(**changes), None
    else:
        try:
            corpus = common.corpus_dir() / "human.parquet"
        except common.Skip as e:
            print(f"skipped: {e}", file=sys.stderr)
            return 0
        cfg = CollapseConfig.model_validate(changes)
    work = common.WORK / name
    shutil.rmtree(work, ignore_errors=True)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    result = run_benchmark(cfg, work, corpus, log)
    result["machine"] = {**common.machine(), "load_average": os.getloadavg()}
    result["command"] = (
        "python -m benchmarks.collapse"
        + (" --quick" if args.quick else "")
        + (f" --generations {args.generations}" if args.generations is not None else "")
    )
    # the curves first, so that nothing measured is lost if writing the report or the plots fails
    common.write_results(name, result, "report not written yet")
    json_path, md_path = _write_report(name, result)
    checks = headline(result)
    print(json.dumps({"seconds": result["seconds"], "headline": checks, "json": str(json_path), "md": str(md_path)}))
    return 0


def _write_report(name: str, result: dict[str, Any]) -> tuple[Path, Path]:
    """``<name>.json``, ``<name>.md`` and ``<name>/plots/*.png`` in ``benchmarks/results``."""
    from tasks.core.collapse import write_outputs

    out = common.RESULTS / name
    shutil.rmtree(out, ignore_errors=True)
    written = write_outputs(result, out)
    report = written["report"].read_text().replace("](plots/", f"]({name}/plots/")
    written["json"].unlink()
    written["report"].unlink()
    return common.write_results(name, result, report)


if __name__ == "__main__":
    sys.exit(main())
