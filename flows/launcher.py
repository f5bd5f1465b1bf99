"""The ``wellspring`` console script: one fast path, then the full command-line app.

``wellspring dedup`` is often run on its own in shell pipelines and benchmarks, where start-up is a visible
share of the time, so it goes straight to its lean front end (argparse, no typer, no Prefect); every other
command, and ``wellspring dedup --help``, builds the typer app of :mod:`flows.cli`.
"""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["dedup"] and not {"--help", "-h"} & set(args):
        import os

        from flows.cli_dedup import main as dedup

        code = dedup(args[1:])
        # Everything is written and closed; skip the interpreter's teardown of numpy, Polars and the
        # frames (tens of milliseconds: a visible share of a standalone run).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    from flows.cli import main as full

    full()
