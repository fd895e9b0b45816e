# Two commands on a fresh machine: `make demo` and `make test`. Each builds what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck unit node bench clean

# Debian packages, installed only where the command is missing (CI and new machines run as root).
define need_apt
	command -v $(1) >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq $(2); }
endef

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[agents,plots]'
	touch $@

$(VENV)/.dev-installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.bench-installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

# dynalite, the DynamoDB-protocol server the tests start on loopback.
node_modules/.installed: package.json package-lock.json
	$(call need_apt,node,nodejs)
	$(call need_apt,npm,npm)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: node_modules/.installed

demo: $(VENV)/.demo-installed
	$(BIN)/python -m examples.quickstart
	$(BIN)/python -m examples.market_hunter

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

unit: $(VENV)/.dev-installed node_modules/.installed
	$(BIN)/pytest

test: lint typecheck unit

# Every benchmark; each writes its section of benchmarks/RESULTS.md (about 30 minutes on 2 cores).
bench: $(VENV)/.bench-installed node_modules/.installed
	$(call need_apt,valgrind,valgrind)
	$(BIN)/python -m benchmarks.store_bench
	$(BIN)/python -m benchmarks.overhead
	$(BIN)/python -m benchmarks.learning_bench
	$(BIN)/python -m benchmarks.learning_quality
	$(BIN)/python -m benchmarks.dynamodb_bench
	$(BIN)/python -m benchmarks.signals_bench
	$(BIN)/python -m benchmarks.scaling_bench
	$(BIN)/python -m benchmarks.soak
	$(BIN)/python -m benchmarks.record_cpu
	$(BIN)/python -m benchmarks.durability
	$(BIN)/python -m benchmarks.middleware_overhead
	$(BIN)/python -m benchmarks.checkpoint_bench
	$(BIN)/python -m benchmarks.fleet_load

clean:
	rm -rf $(VENV) node_modules .agentmem agentmem-demo .pytest_cache .mypy_cache .ruff_cache
