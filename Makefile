# Wellspring: every target creates the environment it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW := ignore
# A flow run never installs packages: the code runs in this environment.
export PREFECT_RUNNER_AUTO_INSTALL_DEPENDENCIES := false

# The local Prefect server (`make ui`) and where its state lives: <data root>/prefect, as the CLI keeps it,
# unless PREFECT_HOME is set. The data root is $WELLSPRING_HOME when it is a local folder, else ./.wellspring.
UI_PORT ?= 4200
API_URL := http://127.0.0.1:$(UI_PORT)/api
DATA_ROOT := $(if $(and $(WELLSPRING_HOME),$(if $(findstring ://,$(WELLSPRING_HOME)),,local)),$(abspath $(WELLSPRING_HOME)),$(CURDIR)/.wellspring)
PREFECT_LOCAL_HOME := $(or $(PREFECT_HOME),$(DATA_ROOT)/prefect)
POOL := wellspring
INBOX ?= inbox

.PHONY: demo test lint bench reliability ui deploy serve chromium env clean lock

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

test: lint chromium
	$(BIN)/python -m pytest -q --durations=15

# The browser tests (tests/ui) use Debian's chromium: install it when it is missing and we can (root and
# apt-get); when we cannot, say so and go on (those tests skip with the reason).
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "note: chromium is not installed and cannot be (needs root and apt-get): the browser tests will skip"; \
	else \
	  echo "installing chromium for the browser tests (apt-get install -y chromium)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq chromium >/dev/null 2>&1 \
	    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } \
	    || echo "note: could not install chromium: the browser tests will skip"; \
	fi

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# The whole reliability suite (bad inputs, fuzzing, faults); writes benchmarks/results/reliability.md.
reliability: $(STAMP)
	$(BIN)/python -m benchmarks.reliability

# Up to a minute for the `make ui` server (a fresh one migrates its database first), then a clear error.
WAIT_FOR_SERVER = for i in $$(seq 60); do \
	  $(BIN)/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$(API_URL)/health" \
	    >/dev/null 2>&1 && exit 0; \
	  [ $$i = 1 ] && echo "waiting for the Prefect server at $(API_URL) ..."; sleep 1; \
	done; echo "error: no Prefect server at $(API_URL); start one with 'make ui' in another terminal" >&2; exit 1

ui deploy serve: export PREFECT_HOME := $(PREFECT_LOCAL_HOME)
deploy serve: export PREFECT_API_URL := $(API_URL)

ui: $(STAMP)
	@mkdir -p "$(PREFECT_LOCAL_HOME)"
	@echo ""
	@echo "  Prefect UI:   http://127.0.0.1:$(UI_PORT)"
	@echo "  state in:     $(PREFECT_LOCAL_HOME)"
	@echo "  Ctrl-C stops the server. Next, in another terminal: make deploy"
	@echo ""
	$(BIN)/prefect server start --host 127.0.0.1 --port $(UI_PORT)

# Register prefect.yaml's deployments with the `make ui` server, then run their flows with a process worker
# started here (the worker's directory is where the deployments find their code and relative paths).
deploy: $(STAMP)
	@$(WAIT_FOR_SERVER)
	@$(BIN)/prefect work-pool inspect $(POOL) >/dev/null 2>&1 || $(BIN)/prefect work-pool create $(POOL) --type process
	$(BIN)/prefect --no-prompt deploy --all
	@echo ""
	@echo "  Deployed. Open http://127.0.0.1:$(UI_PORT)/deployments ; the worker below runs the flows (Ctrl-C stops it)."
	@echo ""
	$(BIN)/prefect worker start --pool $(POOL)

# The same deployments without a work pool or worker, served from one process (`wellspring serve`).
serve: $(STAMP)
	@$(WAIT_FOR_SERVER)
	$(BIN)/python -m flows.cli_serve --inbox "$(INBOX)"

clean:
	rm -rf $(VENV) .wellspring .pytest_cache .mypy_cache .ruff_cache
