# ndc: one command for each thing a user does. `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NDC := $(BIN)/ndc
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-nodeps.txt pyproject.toml | cksum | cut -d' ' -f1)
MANIFEST := dbt_project/target/manifest.json

.PHONY: help install demo up down test test-fast lint bench reliability services browser clean

help:
	@echo "make demo   - the whole flow end to end on the embedded default, then the summary"
	@echo "              (PERSONS=100000 make demo for a larger country)"
	@echo "make test   - every test (starts the services it needs)"
	@echo "make test-fast - unit tests only: Python, DAG integrity, the dbt unit tests"
	@echo "make up     - start Airflow (UI on http://localhost:8080); make down stops it"
	@echo "              (make up EXECUTOR=celery: CeleryExecutor, two workers, the machine's Redis)"
	@echo "make bench  - benchmarks: load, generate, scale, linkage, ui (ONLY=scale PERSONS=100000 make bench;"
	@echo "              the scale run in an Airflow and databases of its own)"
	@echo "make reliability - every fault case, the bad-input corpus and the soak (DAYS=30"
	@echo "              SOAK_PERSONS=100000 by default: hours; DAYS=3 SOAK_PERSONS=300 for a taste)"
	@echo "make lint   - ruff"

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "ndc needs Python 3.11+"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

# Cosmos renders the transform DAG from dbt's manifest (fast DAG parsing); dbt parse needs
# no database. Parsed with the profile, target and connection fields the transform runs with
# (include/ndc/dbt_profile.py), so its first `dbt build` reuses target/partial_parse.msgpack.
# The fan-in models read the registry's entities from macros/registry.sql, generated here
# (include/ndc/dbt_registry.py; not in git).
$(MANIFEST): $(STAMP) $(wildcard include/sources/*.yaml) $(wildcard include/sharing/*.yaml) $(shell find dbt_project -name '*.sql' -o -name '*.yml' -o -name '*.csv' | grep -v target/)
	$(BIN)/python -m ndc.dbt_registry
	eval "$$($(BIN)/python -m ndc.dbt_profile)" && cd dbt_project && \
		../$(BIN)/dbt parse --profiles-dir . --profile ndc --target warehouse --quiet
	@touch $@

install: $(STAMP) $(MANIFEST)

PERSONS ?= 2000
demo: install
	$(NDC) demo --persons $(PERSONS)

# EXECUTOR=celery (or NDC_EXECUTOR=celery in the environment): CeleryExecutor with two workers
# and the machine's Redis as broker, started here when it is down (NDC_CELERY_BROKER_URL for
# another Redis).
EXECUTOR ?=
up: install
	$(if $(filter celery,$(EXECUTOR) $(NDC_EXECUTOR)),$(if $(NDC_CELERY_BROKER_URL),,bash scripts/services.sh redis))
	$(if $(EXECUTOR),NDC_EXECUTOR=$(EXECUTOR) )$(NDC) airflow up

down:
	-$(NDC) airflow down
	-$(NDC) sources down
	-$(NDC) db down

services:
	bash scripts/services.sh

# Debian's chromium for the browser tests of the ndc pages (installed as root when missing).
browser:
	bash scripts/chromium.sh

# Every test: unit, DAG integrity, integration (with one `dbt build` of the whole project,
# its unit and data tests, on a tiny country) and end to end through Airflow. The dbt unit
# tests alone on an empty warehouse are test-fast's: the full build runs them already. The
# benchmarks' end-to-end tests (marker bench) are `pytest -m bench`'s. Three workers: each
# end-to-end module (an Airflow of its own) beside the rest of the suite (tests/conftest.py).
test: install services browser
	$(BIN)/python -m pytest -m "not dbt_unit and not bench" -n 3 --dist loadgroup --durations=15

# Unit tests only: Python unit tests, DAG integrity and the dbt unit tests (on an empty
# warehouse of the machine's PostgreSQL).
test-fast: install services
	$(BIN)/python -m pytest tests/unit tests/dags tests/integration/test_dbt_project.py \
		-m "(dbt_unit or not (integration or e2e)) and not bench"

lint: install
	$(BIN)/ruff check include dags tests plugins

ONLY ?=
bench: install
	$(NDC) bench $(if $(ONLY),--only $(ONLY)) $(if $(filter command line environment,$(origin PERSONS)),--persons $(PERSONS))

DAYS ?= 30
SOAK_PERSONS ?= 100000
reliability: install
	$(NDC) reliability --soak --days $(DAYS) --soak-persons $(SOAK_PERSONS)

clean: down
	rm -rf .ndc dbt_project/target dbt_project/logs
