"""Run the benchmarks: ``python -m benchmarks.run [--quick] [names...]`` (all of them by default).

Each benchmark is a module ``benchmarks.<name>`` with ``main(argv: list[str] | None) -> int``; a module
that does not exist yet is skipped with a note. Results land in ``benchmarks/results/<name>.{json,md}``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time

from benchmarks.common import Skip

NAMES = ("ingest", "dedup", "provenance", "diversity", "reservoir", "build", "collapse", "load", "scale")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, no peers where slow (under a minute each)")
    parser.add_argument("names", nargs="*", metavar="name", help=f"any of {', '.join(NAMES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    passed = ["--quick"] if args.quick else []
    summary: list[tuple[str, str, float]] = []
    for name in args.names or NAMES:
        module_name = f"benchmarks.{name}"
        if importlib.util.find_spec(module_name) is None:
            summary.append((name, "not written yet", 0.0))
            continue
        print(f"== {name} {' '.join(passed)}".rstrip(), flush=True)
        started = time.perf_counter()
        try:
            code = importlib.import_module(module_name).main(passed)
            status = "ok" if code == 0 else f"failed (exit {code})"
        except Skip as e:
            status = f"skipped: {e}"
        summary.append((name, status, time.perf_counter() - started))
    print("\nbenchmark summary")
    for name, status, seconds in summary:
        print(f"  {name:<11} {status:<40} {seconds:7.1f} s" if seconds else f"  {name:<11} {status}")
    return 1 if any(s.startswith("failed") for _, s, _ in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
