# Both targets work on a fresh machine with only python3, pip, make and git.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint types pytest docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,demo]'
	touch $(STAMP)

## make demo: loopback AWS endpoint, seeded secrets and parameters, an example Settings loaded and shown.
demo: $(STAMP)
	$(BIN)/pydantic-aws-settings demo

## make test: lint, format check, strict types, the docs build, then the tests (so pytest's summary ends it).
test: lint types docs pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n 2 --cov --cov-branch --cov-report=term

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir .site

## make bench: loaders side by side on the loopback endpoint; writes docs/explanation/performance.{md,png}.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,demo,bench]'
	$(BIN)/python benchmarks/run.py $(ARGS)

clean:
	rm -rf $(VENV) .site .pytest_cache .mypy_cache .ruff_cache .coverage*
