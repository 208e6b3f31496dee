# The two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv and install everything themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?= -n 2

.PHONY: demo test lint format sandbox clean install bench browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/echeancier demo

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Headless Chromium for the browser tests (the finance report); Debian packages, as root.
browser:
	command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks (not tests: never run by `make test`); writes docs/benchmarks.md. About 2 hours
# on 2 cores (the medium shop's syncs, ours and dlt's, 3 times each; dlt in its own venv).
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

bench: $(STAMP)
	$(BIN)/python bench/report.py --database-url '$(BENCH_DATABASE_URL)'

sandbox: $(STAMP)
	$(BIN)/echeancier sandbox serve --generate small --seed 42

# Prefect on this machine (docs/deployments.md): `make server` (UI at
# http://127.0.0.1:4200), then in other terminals `make deploy` and `make worker`. The
# worker's flow runs read DATABASE_URL and the provider keys from its environment.
PREFECT_API_URL ?= http://127.0.0.1:4200/api
PREFECT_RESULTS ?= $(CURDIR)/var/prefect-results
.PHONY: server worker deploy

server: $(STAMP)
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/prefect server start

worker: $(STAMP)
	PREFECT_API_URL=$(PREFECT_API_URL) PREFECT_RESULTS_LOCAL_STORAGE_PATH=$(PREFECT_RESULTS) \
		$(BIN)/prefect worker start --pool echeancier --limit 4

deploy: $(STAMP)
	PREFECT_API_URL=$(PREFECT_API_URL) $(BIN)/python -m deployments deploy

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
