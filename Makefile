# Suijian: `make help` lists the targets. Everything installs what it needs first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Debian's Python: its sqlite3 module can load SpatiaLite (some other builds cannot).
PYTHON := /usr/bin/python3
INI ?= development.ini

.DEFAULT_GOAL := help
.PHONY: help run test bench lint format system-deps-run system-deps-test clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

system-deps-run:
	@bash scripts/system-deps.sh run

system-deps-test:
	@bash scripts/system-deps.sh test

$(BIN)/suijian: setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

run: system-deps-run $(BIN)/suijian ## Install, load the demo, serve the app and a worker (embedded)
	$(BIN)/suijian -c $(INI) db upgrade
	$(BIN)/suijian -c $(INI) demo load --if-empty
	$(BIN)/suijian -c $(INI) serve --with-worker

test: system-deps-test $(BIN)/suijian ## Install, then run lint and the whole suite on SpatiaLite and PostGIS
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

bench: system-deps-test $(BIN)/suijian ## Run the benchmarks: import (throwaway PostGIS) and draw
	$(BIN)/suijian -c $(INI) bench import --json
	$(BIN)/suijian -c $(INI) bench draw --targets 10000000 --inspectors 20000 --strata 400 --json

lint: $(BIN)/suijian ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/suijian ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## Remove the virtualenv and local data under var/
	rm -rf $(VENV) var
