# wiretrace: every target bootstraps its own virtual environment (.venv, Python 3.11) first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/warehouse/dagster_home
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

SAMPLE    ?= data/sample
WAREHOUSE ?= warehouse

.PHONY: help venv install install-dev browser run test test-fast ui bench eval lint format clean-warehouse

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

# headless Chromium for the browser tests (Debian packages); the tests skip when it cannot be installed
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; \
	else echo "chromium not installed and neither root nor sudo: browser tests will be skipped"; exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && $$SUDO apt-get update && \
	   $$SUDO apt-get install -y chromium chromium-driver; then echo "installed chromium and chromium-driver"; \
	else echo "could not install chromium / chromium-driver: browser tests will be skipped"; fi

test: install-dev browser
	$(BIN)/pytest -q

test-fast: install-dev
	$(BIN)/pytest -q -m "not slow"

ui: install
	mkdir -p data/raw
	@echo "Dagster UI on http://127.0.0.1:3000 (drop files into data/raw/; the sensor picks them up)"
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

# whole pipeline on the 37,554-article corpus (stage times, peak memory, counts, semantic tier's added cost),
# then cleaning speed (HTML pages/s, text MB/s) with its quality table
bench: install-dev
	$(BIN)/python -m pipeline.evaluation.bench --semantic
	$(BIN)/python -m pipeline.evaluation.boilerplate

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
