# salign - `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= data/sample
OUT ?= reports
PERIOD ?=

.PHONY: help review test test-fast lab sample validate lint clean bench postgres postgres-stop chromium axe java

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

review: $(STAMP) ## run the quarterly review on $(WORKSPACE) into $(OUT)/ (PERIOD=2026Q3 to pick one)
	$(BIN)/salign review --workspace $(WORKSPACE) --out $(OUT) $(if $(PERIOD),--period $(PERIOD))

# -n auto: one pytest-xdist worker per core; tests/conftest.py keeps the files of one shared review on one worker.
test: $(STAMP) chromium axe java ## run the whole test suite (unit, notebooks, end to end, browser, engines)
	$(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider -n auto

# Debian's chromium and its matching chromedriver for tests/test_browser.py; apt-get only when they are absent.
chromium: ## install Debian's chromium + chromedriver for the browser test (when absent)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$sudo apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		chromium chromium-driver fonts-liberation

# A Java runtime for the Spark engine (salign review --engine spark; tests/test_engines.py): Debian's OpenJDK 17,
# apt-get only when no java is on PATH (pyspark itself comes with the test extra of pyproject.toml).
java: ## install Debian's openjdk-17-jre-headless for the Spark engine (when no java is on PATH)
	@if command -v java >/dev/null 2>&1; then exit 0; fi; \
	sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$sudo apt-get update -q && \
	$$sudo mkdir -p /usr/share/man/man1 && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openjdk-17-jre-headless

# axe-core (MPL-2.0), the accessibility engine tests/test_browser.py runs in each page: its axe.min.js as shipped
# in a pinned PyPI wheel (pip, no node needed), checked against a pinned sha256, into build/ (never committed).
AXE_WHEEL := selenium-axe-python==2.2.0
AXE_MEMBER := selenium_axe_python/axe-core/axe.min.js
AXE_SHA256 := 182a40dc5d8207e626c09861ad65027d45e85e3a56d01045d068e2e88ee432ea
AXE_DIR := build/axe-core
AXE_JS := $(AXE_DIR)/axe.min.js

axe: $(AXE_JS) ## fetch axe-core 4.9.1 (accessibility checks of the browser test) into build/axe-core/

$(AXE_JS): | $(STAMP)
	rm -rf $(AXE_DIR) && mkdir -p $(AXE_DIR)/wheel
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --dest $(AXE_DIR)/wheel '$(AXE_WHEEL)'
	$(BIN)/python -c 'import glob, hashlib, sys, zipfile; \
	  js = zipfile.ZipFile(glob.glob("$(AXE_DIR)/wheel/*.whl")[0]).read("$(AXE_MEMBER)"); \
	  got = hashlib.sha256(js).hexdigest(); \
	  sys.exit(f"axe.min.js: sha256 {got}, expected $(AXE_SHA256)") if got != "$(AXE_SHA256)" else None; \
	  open("$(AXE_JS).part", "wb").write(js)'
	mv $(AXE_JS).part $(AXE_JS) && rm -rf $(AXE_DIR)/wheel

test-fast: $(STAMP) ## unit tests only (no notebooks, no end-to-end runs)
	$(BIN)/python -m pytest tests -m "not slow" -p no:cacheprovider -n auto

lab: $(STAMP) ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks/

sample: $(STAMP) ## regenerate the embedded sample workspace data/sample
	$(BIN)/salign sample --out data/sample --leads 20000 --seed 7

validate: $(STAMP) ## validate $(WORKSPACE) and list every problem
	$(BIN)/salign validate --workspace $(WORKSPACE)

bench: $(STAMP) ## run the benchmark scripts in benchmarks/
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(STAMP) ## check the code style (ruff), the rooms' import contracts and the notebooks' conventions
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python -m pytest tests/test_notebook_conventions.py tests/test_layers.py -q -p no:cacheprovider

PG_DIR ?= $(CURDIR)/build/postgres
PG_PORT ?= 55432
postgres: ## install PostgreSQL (apt, as root) when absent; start a throwaway cluster in PG_DIR on PG_PORT; print its URL
	@set -e; \
	if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  test "$$(id -u)" = 0 || { echo "PostgreSQL is not installed and installing it needs root (apt-get)" >&2; exit 1; }; \
	  echo "installing PostgreSQL with apt-get ..." >&2; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
	fi; \
	bin=$$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); \
	as=""; if [ "$$(id -u)" = 0 ]; then as="runuser -u postgres --"; fi; \
	mkdir -p "$(PG_DIR)"; if [ -n "$$as" ]; then chown postgres "$(PG_DIR)"; fi; \
	if [ ! -f "$(PG_DIR)/data/PG_VERSION" ]; then \
	  $$as "$$bin/initdb" -D "$(PG_DIR)/data" -U salign --auth=trust --no-locale -E UTF8 >/dev/null; fi; \
	$$as "$$bin/pg_ctl" -D "$(PG_DIR)/data" -l "$(PG_DIR)/server.log" -w -t 60 \
	  -o "-k $(PG_DIR) -p $(PG_PORT) -c listen_addresses=''" start >/dev/null; \
	echo "postgresql://salign@/postgres?host=$(PG_DIR)&port=$(PG_PORT)"

postgres-stop: ## stop the throwaway cluster in PG_DIR and delete it
	@bin=$$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1); \
	as=""; if [ "$$(id -u)" = 0 ]; then as="runuser -u postgres --"; fi; \
	if [ -f "$(PG_DIR)/data/postmaster.pid" ]; then $$as "$$bin/pg_ctl" -D "$(PG_DIR)/data" -m fast -w stop >/dev/null; fi; \
	rm -rf "$(PG_DIR)"

clean: ## remove the virtualenv, caches and generated reports
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find reports -mindepth 1 ! -name README.md -prune -exec rm -rf {} +
