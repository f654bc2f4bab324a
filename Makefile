# Every target works on a fresh machine with only python3, pip, make and git.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The dev tools' versions, pinned for every Python the package claims (`make pins` refreshes them).
CONSTRAINTS := constraints/dev.txt
INSTALL := $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS)
# nox finds the other Pythons on PATH: pyenv's real interpreters, not its shims (which refuse versions
# that are not selected). A machine without them gets its sessions skipped, or failed when CI is set.
PYENV_ROOT ?= $(HOME)/.pyenv
empty :=
space := $(empty) $(empty)
NOX := PATH="$(subst $(space),:,$(wildcard $(PYENV_ROOT)/versions/3.1[0-9].*/bin)):$$PATH" $(BIN)/nox

.PHONY: demo test lint types pytest pythons docs bench bench-outage bench-fleet pins clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(INSTALL) --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(INSTALL) -e '.[dev,demo]'
	touch $(STAMP)

## make demo: loopback AWS endpoint, seeded secrets and parameters, an example Settings loaded and shown.
demo: $(STAMP)
	$(BIN)/pydantic-aws-settings demo

## make test: lint, format check, strict types, the docs build, the suite on Python 3.10, 3.12 and 3.13
## (nox), then the whole suite with coverage on the default interpreter (so its pytest summary ends it).
test: lint types docs pythons pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks noxfile.py
	$(BIN)/ruff format --check src tests benchmarks noxfile.py

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n 2 --cov --cov-branch --cov-report=term

## make pythons: the suite on each Python the package claims other than the default (noxfile.py).
pythons: $(STAMP)
	$(NOX) -s tests

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir .site

## make bench: loaders side by side on the loopback endpoint; writes docs/explanation/performance.{md,png}.
bench: $(STAMP)
	$(INSTALL) -e '.[dev,demo,bench]'
	$(BIN)/python benchmarks/run.py $(ARGS)

## make bench-outage: a service under AWS faults, before and after the outage work (about 12-16 min); prints
## the tables of docs/explanation/outages.md.
bench-outage: $(STAMP)
	$(BIN)/python benchmarks/outage.py $(ARGS)

## make bench-fleet: a fleet of processes against the account's quotas, modelled and checked against a scaled
## real run (moto behind a quota-enforcing proxy); writes docs/explanation/fleet.{md,png}.
bench-fleet: $(STAMP)
	$(INSTALL) -e '.[dev,demo,bench]'
	$(BIN)/python benchmarks/fleet.py $(ARGS)

## make pins: the newest dev tools resolved afresh on each Python, merged into constraints/dev.txt.
pins: $(STAMP)
	$(NOX) -s pins

clean:
	rm -rf $(VENV) .nox .site .pytest_cache .mypy_cache .ruff_cache .coverage*
