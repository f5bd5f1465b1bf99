#!/usr/bin/env bash
# Create benchmarks/.venvs/datatrove, the separate venv of the datatrove peer used by benchmarks/ingest.py and benchmarks/dedup.py.
# Only the package registry is contacted (through uv); the benchmark itself runs offline.
#
# datatrove's Gopher and C4 filters tokenize English with spacy.blank("en") + the rule-based sentencizer
# (spacy is in datatrove's "multilingual" extra, which also pulls tensorflow, so it is listed on its own here);
# no spaCy model and no NLTK data is downloaded. The JSONL reader needs orjson (the "io" extra).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/../.venvs/datatrove"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
command -v uv >/dev/null 2>&1 || { echo "setup_datatrove.sh: needs uv (pip install uv)" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
    uv venv --quiet --python "$python" "$venv"
fi
# tokenizers: datatrove.pipeline.dedup imports it (for exact substrings) even when only MinHash is used;
# xxhash 3.x: datatrove 0.10 hashes str shingles, which xxhash 4 refuses ("Strings must be encoded").
uv pip install --quiet --python "$venv/bin/python" "datatrove[io]==0.10.1" "spacy==3.8.18" "regex==2026.11.19" \
    "tokenizers==0.23.3" "xxhash==3.5.0"
"$venv/bin/python" - <<'PY'
import importlib.metadata as m

import spacy

spacy.blank("en").add_pipe("sentencizer")  # fails here, not mid-benchmark, if English tokenizing is broken
print("datatrove", m.version("datatrove"), "spacy", m.version("spacy"), "ready")
PY
