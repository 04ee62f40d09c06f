# Estafeta — `make help` lists the targets.
VENV      ?= .venv
PYTHON    ?= python3
BIN       := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run migrate test test-unit bench demo simulator lint import-kb import-agenda dead-list dead-replay clean

help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED) ## install into a local virtualenv (.venv)

# `run` and `demo` read the environment, then .env, then local.env (simulator defaults, for
# unset variables only): the environment always wins (settings.layered_environ).
run: $(INSTALLED) ## start every Procfile process; env > .env > local.env; no simulator secrets on real Slack
	@$(BIN)/estafeta run

migrate: $(INSTALLED) ## create or upgrade every store's schema (SQLite, or DATABASE_URL); twice is harmless
	$(BIN)/estafeta migrate

test: $(INSTALLED) ## lint, type-check and run the whole test suite (needs RabbitMQ and PostgreSQL)
	@test -x "$${CHROMIUM:-/usr/bin/chromium}" || { echo "make test: no chromium at $${CHROMIUM:-/usr/bin/chromium} for the browser tests: apt-get install chromium (or set CHROMIUM)" >&2; exit 1; }
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

test-unit: $(INSTALLED) ## run the tests that need no broker (store tests need PostgreSQL)
	$(BIN)/pytest tests/unit

bench: $(INSTALLED) ## run the benchmarks and print ratios against same-run baselines
	$(BIN)/python -m bench

demo: $(INSTALLED) ## talk to a running `make run` through a simulated Slack
	@$(BIN)/estafeta demo

simulator: $(INSTALLED) ## a Slack workspace in the browser for a running `make run` (http://127.0.0.1:8089/)
	@$(BIN)/estafeta simulator

lint: $(INSTALLED) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

import-kb: $(INSTALLED) ## load documents into search: make import-kb DIR=docs TEAM=T0123 NAME=handbook
	$(BIN)/estafeta import-kb $(DIR) --team $(TEAM) --name $(or $(NAME),kb)

import-agenda: $(INSTALLED) ## load an agenda: make import-agenda FILE=x.ics TEAM=T0123 CHANNEL=C0123 [TZ=Europe/Madrid]
	$(BIN)/estafeta import-agenda $(FILE) --team $(TEAM) --channel $(CHANNEL) --tz $(or $(TZ),UTC)

dead-list: $(INSTALLED) ## show a service's dead letters: make dead-list SERVICE=search
	$(BIN)/estafeta dead list $(SERVICE)

dead-replay: $(INSTALLED) ## replay a service's dead letters: make dead-replay SERVICE=search
	$(BIN)/estafeta dead replay $(SERVICE)

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
