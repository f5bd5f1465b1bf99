# Wellspring: every target creates the environment it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW := ignore

.PHONY: demo test lint bench ui env clean lock

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@test -x $(BIN)/python || uv venv --quiet --python $(PYTHON) $(VENV)
	uv pip install --quiet --python $(BIN)/python -r requirements.lock
	uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

lock:
	uv pip compile --universal --python-version 3.11 --no-header --no-annotate pyproject.toml --extra dev -o requirements.lock

demo: $(STAMP)
	$(BIN)/python -m flows.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

ui: $(STAMP)
	@echo "Prefect UI: http://127.0.0.1:4200  (Ctrl-C to stop)"
	PREFECT_HOME=$${PREFECT_HOME:-$(CURDIR)/.wellspring/prefect} $(BIN)/prefect server start --host 127.0.0.1 --port 4200

clean:
	rm -rf $(VENV) .wellspring .pytest_cache .mypy_cache .ruff_cache
