# Developer and CI entry points. Everything runs from the virtualenv in $(VENV).
# PostgreSQL and Redis are started from pip packages with their data under ./var, unless
# DATABASE_URL / REDIS_URL are set (see scripts/devservices.py).

VENV ?= .venv
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
PYTEST_ARGS ?=

BIN := $(VENV)/bin
DEVSERVICES := $(BIN)/python scripts/devservices.py
export VENV

.PHONY: install run test lint format bench bench-quick services-up services-down clean

install: $(VENV)/.installed

# Reinstall only when a requirements file changes.
$(VENV)/.installed: $(wildcard requirements*.txt) | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: python3.11 (or python3) not found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

run: install
	$(DEVSERVICES) run -- sh scripts/run.sh

test: install
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
		|| [ -n "$$CHROMIUM_PATH" ] \
		|| echo "NOTE: no Chromium found: the browser tests (tests/browser) will be SKIPPED (apt-get install chromium)"
	$(DEVSERVICES) run -- $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(DEVSERVICES) run -- $(BIN)/python -m bench.run

bench-quick: install
	$(DEVSERVICES) run -- $(BIN)/python -m bench.run --quick

services-up: install
	$(DEVSERVICES) start

services-down:
	@if [ -x $(BIN)/python ]; then $(DEVSERVICES) stop; fi

clean: services-down
	rm -rf var
