# Listonian: `make run` serves the dashboard, `make test` runs the whole suite.
# Both set up whatever is missing first (virtualenv, Python and npm packages,
# compiled contracts); a second run skips what is done.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .make
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve-all test lint typecheck setup browser python-deps native node-deps contracts clean-stamps help

help:
	@echo "make run    - set up and serve the dashboard on http://$(HOST):$(PORT)"
	@echo "make test   - set up and run the whole test suite"
	@echo "make serve-all - web, engine, worker and beat as separate processes (needs DATABASE_URL, REDIS_URL)"
	@echo "make lint   - ruff"
	@echo "make typecheck - mypy with django-stubs"

run: setup
	$(PY) manage.py run --host $(HOST) --port $(PORT)

# Scale-out: web, engine, Celery worker and beat as separate processes (Procfile).
# Needs DATABASE_URL (PostgreSQL) and REDIS_URL.
serve-all: setup
	@if [ -z "$$DATABASE_URL" ] || [ -z "$$REDIS_URL" ]; then \
		echo "serve-all runs separate processes: set DATABASE_URL (PostgreSQL) and REDIS_URL first"; exit 1; fi
	$(PY) manage.py migrate --noinput
	$(VENV)/bin/honcho start

test: setup browser lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

lint: python-deps
	$(VENV)/bin/ruff check .

# mypy with django-stubs, configured in pyproject.toml ([tool.mypy]).
typecheck: python-deps
	$(VENV)/bin/mypy

setup: python-deps native node-deps contracts

# The native V2 quote (trading/amm/_native.c), compiled beside its source with the
# C compiler and headers of the virtualenv's Python; an up-to-date build is kept.
native: python-deps
	@$(PY) scripts/build_native.py

python-deps: $(STAMPS)/python-deps
node-deps: $(STAMPS)/node-deps
contracts: $(STAMPS)/contracts

$(STAMPS):
	@mkdir -p $(STAMPS)

$(VENV)/bin/python:
	@PYTHON="$$(scripts/find-python)" || exit 1; \
	echo "Creating $(VENV) with $$PYTHON"; \
	"$$PYTHON" -m venv $(VENV)

$(STAMPS)/python-deps: requirements.txt $(VENV)/bin/python | $(STAMPS)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(STAMPS)/node-deps: package.json package-lock.json | $(STAMPS)
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMPS)/contracts: $(wildcard contracts/*.sol) $(wildcard scripts/compile_*.js) $(STAMPS)/node-deps | $(STAMPS)
	@if ls contracts/*.sol >/dev/null 2>&1; then node scripts/compile_contracts.js; fi
	@# The real Aerodrome and Slipstream contracts, from their npm sources.
	node scripts/compile_external.js
	@touch $@

# Browser tests drive the distribution's headless Chromium (never a downloaded build).
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "Installing chromium and chromium-driver for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null \
		|| { echo "Could not install chromium: install the chromium and chromium-driver packages, then run make test again"; exit 1; }; \
	fi

clean-stamps:
	rm -rf $(STAMPS)
