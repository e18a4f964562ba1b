# The commands people type. Each target installs what it needs, from nothing but python3 and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, or bootstrapped into the user's site-packages and run as a module.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export OMSI_HOME ?= $(CURDIR)/data
# uv must never fetch a Python build from outside the package registry.
export UV_PYTHON_DOWNLOADS := never
PYTEST_ARGS ?=
# The dashboard benchmark's world (`make bench BENCH_ORDERS=50000`), or a snapshot `omsi run`
# already published to time instead of building one (`make bench BENCH_SERVING=data/serving.duckdb`).
BENCH_ORDERS ?= 1000000
BENCH_DAYS ?= 365
BENCH_SERVING ?=

.PHONY: help uv install browser java test demo dev run lint format bench docs clean

help:  ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		{ echo "bootstrapping uv with pip"; python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv; }

install: uv  ## Create .venv with every dependency from uv.lock
	$(UV) sync --frozen --python 3.11
	@# Prepare the dbt project (dagster-dbt's dbt parse) so that the Dagster definitions, which
	@# only read its manifest, load in tests, benchmarks and the UI.
	$(UV) run python -c "from pipelines.defs.dbt.project import prepare_project; prepare_project()"

browser:  ## Install Debian's Chromium and ChromeDriver for the dashboard browser tests
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium and chromium-driver with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "note: no /usr/bin/chromium; browser tests will skip (install chromium chromium-driver as root)"; fi

java:  ## Install a Java runtime for the local Spark tests (pyspark needs Java 17 or newer)
	@if command -v java >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing openjdk-17-jre-headless with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	else echo "note: no java; the Spark tests will skip (install a Java 17+ runtime)"; fi

test: install browser java lint  ## Lint, then run the whole test suite
	@# The Spark test (about twelve minutes, mostly one core planning statements) runs beside the
	@# rest, in its own temporary folder, and prints when both are done.
	@spark_log=$$(mktemp) spark_tmp=$$(mktemp -d); \
	$(UV) run pytest -m spark --basetemp=$$spark_tmp $(PYTEST_ARGS) > $$spark_log 2>&1 & spark=$$!; \
	$(UV) run pytest -m "not spark" $(PYTEST_ARGS); rest=$$?; \
	wait $$spark; spark_status=$$?; \
	echo "== the Spark tests (pytest -m spark) =="; cat $$spark_log; rm -rf $$spark_log $$spark_tmp; \
	[ $$rest = 0 ] && [ $$spark_status = 0 ]

demo: install  ## Build a demo world and open the dashboards
	$(UV) run omsi demo

run: install  ## Ingest $OMSI_HOME/landing, build the warehouse, publish serving
	$(UV) run omsi run

dev: install  ## Start the Dagster UI on http://localhost:3000
	$(UV) run python -c "from pipelines.runner import prepare_dagster_home; from pipelines.settings import OmsiHome; prepare_dagster_home(OmsiHome.from_env())"
	DAGSTER_HOME=$(OMSI_HOME)/dagster $(UV) run dagster dev -m pipelines.definitions

lint: install  ## ruff and sqlfluff
	$(UV) run ruff check pipelines models dashboards tests benchmarks
	$(UV) run ruff format --check pipelines models dashboards tests benchmarks
	OMSI_WAREHOUSE=:memory: $(UV) run sqlfluff lint dbt_project/models

format: install  ## Apply ruff's formatting and fixes
	$(UV) run ruff format pipelines models dashboards tests benchmarks
	$(UV) run ruff check --fix pipelines models dashboards tests benchmarks

bench: install  ## Print speed figures: ingest, simulator, dbt marts (full and one-day incremental, the order path against its floor), models, dashboard queries, the closed-loop experiment, omsi run at scale (first, one new day, nothing new)
	$(UV) run python benchmarks/bench_ingest.py
	$(UV) run python benchmarks/bench_generate.py
	$(UV) run python benchmarks/bench_marts.py
	$(UV) run python benchmarks/bench_models.py
	$(UV) run python benchmarks/bench_dashboards.py --orders $(BENCH_ORDERS) --days $(BENCH_DAYS) \
		$(if $(BENCH_SERVING),--serving $(BENCH_SERVING))
	$(UV) run python benchmarks/bench_experiment.py
	$(UV) run python benchmarks/bench_run.py --orders $(BENCH_ORDERS) --days $(BENCH_DAYS)

docs: install  ## Build and serve the dbt docs site on http://localhost:8080
	cd dbt_project && OMSI_WAREHOUSE=$(OMSI_HOME)/warehouse.duckdb $(UV) run dbt docs generate --profiles-dir . && \
		OMSI_WAREHOUSE=$(OMSI_HOME)/warehouse.duckdb $(UV) run dbt docs serve --profiles-dir . --port 8080

clean:  ## Remove build output (not $OMSI_HOME)
	rm -rf .venv dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
