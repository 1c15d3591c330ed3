# The two commands: `make run` (set up everything and run the embedded default) and
# `make test` (set up everything and run the whole test suite). The rest are their parts.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup venv rasa browser model migrate env lint format nlu-eval clean

run: setup migrate model
	$(BIN)/honcho start -f Procfile web nlu

test: setup model browser
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

setup: venv rasa env

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

rasa:
	bash nlu/setup_rasa.sh

# Debian's chromium for the console's browser test (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "browser tests will be skipped: install Debian's chromium (apt-get install chromium)"; fi; }

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

nlu-eval: setup
	$(BIN)/python -m nlu.evaluate

clean:
	rm -rf $(VENV) .venv-rasa var nlu/models nlu/data/generated
