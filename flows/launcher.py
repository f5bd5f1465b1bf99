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
        from flows.cli_dedup import main as dedup

        sys.exit(dedup(args[1:]))
    from flows.cli import main as full

    full()
