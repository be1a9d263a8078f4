# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
POSTGRES_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-postgres worker demo bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/fluxsocial-mcp serve

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

test-postgres: $(VENV)/.installed
	FLUXSOCIAL_TEST_DATABASE_URL=$(POSTGRES_TEST_URL) FLUXSOCIAL_TEST_REDIS_URL=$(REDIS_TEST_URL) $(BIN)/python -m pytest -q

worker: $(VENV)/.installed
	$(BIN)/fluxsocial-mcp worker

demo: $(VENV)/.installed
	$(BIN)/fluxsocial-mcp demo

clean:
	rm -rf $(VENV) .pytest_cache
