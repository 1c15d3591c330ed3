# The two commands: `make run` (set up everything and run the embedded default) and
# `make test` (set up everything and run the whole test suite). The rest are their parts.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup sysdeps venv rasa model migrate env lint format audit nlu-eval clean

# honcho hands each process a PORT from --port on; `bot run` listens on it (the Procfile
# convention), the NLU keeps its own port (NLU_PORT, default 5005).
run: setup migrate model
	$(BIN)/honcho start -f Procfile --port 8080 web nlu

test: setup model
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

setup: sysdeps venv rasa env

venv: $(STAMP)

$(STAMP): pyproject.toml | sysdeps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

rasa:
	bash nlu/setup_rasa.sh

# Debian packages: ICU headers for PyICU (Zawgyi conversion) and chromium for the console's
# browser test (Playwright cannot download browsers here). Installed only where missing.
SYSTEM_PACKAGES := libicu-dev pkg-config g++ chromium
sysdeps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages: $$missing (sudo apt-get install $$missing)"; exit 1; fi; fi

# Local secrets for the embedded default; honcho and the tests read .env.
env: $(STAMP)
	@test -f .env || { $(BIN)/bot keys > .env && echo "wrote new local secrets to .env"; }

model: venv rasa
	$(BIN)/python -m nlu.train

migrate: env
	set -a && source .env && set +a && $(BIN)/bot migrate

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Known vulnerabilities in the installed dependencies (skipped, and says so, where the
# vulnerability database is unreachable).
audit: venv
	bash .ci/audit

nlu-eval: setup
	$(BIN)/python -m nlu.evaluate

clean:
	rm -rf $(VENV) .venv-rasa var nlu/models nlu/data/generated
