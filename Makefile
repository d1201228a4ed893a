# wiretrace: every target bootstraps its own virtual environment (.venv, Python 3.11) first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/warehouse/dagster_home
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

SAMPLE    ?= data/sample
WAREHOUSE ?= warehouse

.PHONY: help venv install install-dev run test test-fast ui bench eval lint format clean-warehouse

help:
	@echo "make run    - install and analyse the bundled sample corpus into $(WAREHOUSE)/wiretrace.duckdb"
	@echo "make test   - install and run the whole test suite (includes slow and end-to-end tests)"
	@echo "make ui     - Dagster UI and daemon on http://127.0.0.1:3000"
	@echo "make bench  - benchmark on ../shared/data/corpora (skips when absent)"
	@echo "make eval   - quality evaluations on ../shared/data/eval (skip when absent)"
	@echo "make lint   - ruff"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# pip runs again whenever pyproject.toml changes
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[semantic]"
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[semantic,dev]"
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/wiretrace run --input $(SAMPLE) --warehouse $(WAREHOUSE)

test: install-dev
	$(BIN)/pytest -q

test-fast: install-dev
	$(BIN)/pytest -q -m "not slow"

ui: install
	mkdir -p data/raw
	@echo "Dagster UI on http://127.0.0.1:3000 (drop files into data/raw/; the sensor picks them up)"
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

bench: install-dev
	$(BIN)/python -m pipeline.evaluation.bench

eval: install-dev
	$(BIN)/python -m pipeline.evaluation

lint: install-dev
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests

format: install-dev
	$(BIN)/ruff format pipeline tests
	$(BIN)/ruff check --fix pipeline tests

clean-warehouse:
	rm -f $(WAREHOUSE)/*.duckdb $(WAREHOUSE)/*.duckdb.wal
