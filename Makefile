# Suijian: `make help` lists the targets. Everything installs what it needs first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Debian's Python: its sqlite3 module can load SpatiaLite (some other builds cannot).
PYTHON := /usr/bin/python3
INI ?= development.ini

.DEFAULT_GOAL := help
.PHONY: help run test bench lint format messages system-deps-run system-deps-test clean vendor

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

# Browser files the app serves itself (no CDN): npm installs package-lock.json's exact versions
# (no install scripts: only files are taken), then each package's dist files are copied under
# mobile_api/static/vendor/ (gitignored).
NPM_STAMP := node_modules/.package-lock.json
VENDOR := mobile_api/static/vendor
SWAGGER_UI_FILES := swagger-ui.css swagger-ui-bundle.js LICENSE NOTICE

$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(VENDOR)/swagger-ui/.copied: $(NPM_STAMP)
	mkdir -p $(@D)
	cp $(addprefix node_modules/swagger-ui-dist/,$(SWAGGER_UI_FILES)) $(@D)/
	@touch $@

# The tablet app's modules (ES modules, imported through the shell's import map).
$(VENDOR)/idb/.copied: $(NPM_STAMP)
	mkdir -p $(@D)
	cp node_modules/idb/build/index.js node_modules/idb/LICENSE $(@D)/
	@touch $@

$(VENDOR)/signature_pad/.copied: $(NPM_STAMP)
	mkdir -p $(@D)
	cp node_modules/signature_pad/dist/signature_pad.js node_modules/signature_pad/LICENSE $(@D)/
	@touch $@

# Charts and maps of the desk pages (Apache ECharts, the minified UMD build).
$(VENDOR)/echarts/.copied: $(NPM_STAMP)
	mkdir -p $(@D)
	cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE node_modules/echarts/NOTICE $(@D)/
	@touch $@

vendor: $(VENDOR)/swagger-ui/.copied $(VENDOR)/idb/.copied $(VENDOR)/signature_pad/.copied $(VENDOR)/echarts/.copied ## Install the npm packages, copy their files to mobile_api/static/vendor

run: system-deps-run $(BIN)/suijian vendor ## Install, load the demo, serve the app and a worker (embedded)
	$(BIN)/suijian -c $(INI) db upgrade
	$(BIN)/suijian -c $(INI) demo load --if-empty
	$(BIN)/suijian -c $(INI) serve --with-worker

test: system-deps-test $(BIN)/suijian vendor ## Install, then run lint and the whole suite on SpatiaLite and PostGIS
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

bench: system-deps-test $(BIN)/suijian ## Run the benchmarks: import (throwaway PostGIS) and draw
	$(BIN)/suijian -c $(INI) bench import --json
	$(BIN)/suijian -c $(INI) bench draw --targets 10000000 --inspectors 20000 --strata 400 --json

# Translatable strings: the pages' _() and the services' reason() (enforcement/reasons.py).
messages: $(BIN)/suijian ## Re-extract the translatable strings, update and compile the catalogues
	$(BIN)/pybabel extract -F mobile_api/locale/babel.cfg -k reason --no-location --sort-output \
		--project=Suijian --version=0.1 -o mobile_api/locale/suijian.pot mobile_api enforcement
	$(BIN)/pybabel update -D suijian -i mobile_api/locale/suijian.pot -d mobile_api/locale \
		--no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -D suijian -d mobile_api/locale --statistics

lint: $(BIN)/suijian ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/suijian ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## Remove the virtualenv and local data under var/
	rm -rf $(VENV) var
