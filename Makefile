# Two commands matter: `make run` (the server on the embedded default) and `make test` (every check).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_HOST ?= 127.0.0.1
PG_SUPERUSER ?= postgres
# alembic check on PostgreSQL runs against a scratch database created and dropped by `make check-migrations`.
PG_CHECK_DB := bizzly_check_$(shell echo $$$$)

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

check-migrations: $(STAMP)
	rm -rf .bizzly/check && BIZZLY_DATA_DIR=.bizzly/check $(BIN)/bizzly migrate >/dev/null
	BIZZLY_DATA_DIR=.bizzly/check $(BIN)/python -c "from bizzly.migrate import check; from bizzly.settings import get_settings; check(get_settings())"
	psql -h $(PG_HOST) -U $(PG_SUPERUSER) -qc 'CREATE DATABASE $(PG_CHECK_DB)' postgres
	BIZZLY_DATABASE_OWNER_URL=postgresql+asyncpg://$(PG_SUPERUSER)@$(PG_HOST)/$(PG_CHECK_DB) \
	BIZZLY_DATABASE_URL=postgresql+asyncpg://bizzly_app:bizzly_app@$(PG_HOST)/$(PG_CHECK_DB) \
	BIZZLY_MAINTENANCE_DATABASE_URL=postgresql+asyncpg://bizzly_maint:bizzly_maint@$(PG_HOST)/$(PG_CHECK_DB) \
	bash -c '$(BIN)/bizzly migrate >/dev/null && $(BIN)/python -c "from bizzly.migrate import check; from bizzly.settings import get_settings; check(get_settings())"'; \
	status=$$?; psql -h $(PG_HOST) -U $(PG_SUPERUSER) -qc 'DROP DATABASE $(PG_CHECK_DB) WITH (FORCE)' postgres; exit $$status

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
