#!/usr/bin/env bash
# Create benchmarks/.venvs/rensa, the separate venv of the rensa peer used by benchmarks/dedup.py
# (benchmarks/.venvs/ is not committed). Only the package registry is contacted, through uv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/../.venvs/rensa"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
command -v uv >/dev/null 2>&1 || { echo "setup_rensa.sh: needs uv (pip install uv)" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
    uv venv --quiet --python "$python" "$venv"
fi
uv pip install --quiet --python "$venv/bin/python" -r "$here/requirements-rensa.txt"
"$venv/bin/python" -c "import importlib.metadata as m, rensa; print('rensa', m.version('rensa'), 'ready')"
