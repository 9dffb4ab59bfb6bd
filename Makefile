# ModelOps — the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
CHROMIUM ?= /usr/bin/chromium
DASHBOARD_PORT ?= 8501
SERVICE_PORT ?= 8000
# Three workers on two cores: much of the suite waits on services, browsers and CLIs it starts (8 min vs 9.7 with two).
TEST_WORKERS ?= 3

.PHONY: run test lint bench image-check install install-dev chromium clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(RUNTIME_STAMP)  ## create .venv and install the runtime dependencies

install-dev: $(DEV_STAMP)  ## install the test and lint tools too

chromium:  ## install Debian's Chromium (browser tests) and Prometheus (scrape test) when missing; needs root
	@missing=""; \
	[ -x "$(CHROMIUM)" ] || missing="$$missing chromium"; \
	[ -x /usr/bin/prometheus ] || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@test -x "$(CHROMIUM)" || { echo "error: $(CHROMIUM) is still missing"; exit 1; }
	@test -x /usr/bin/prometheus || { echo "error: /usr/bin/prometheus is still missing"; exit 1; }

run: install  ## seed the demo registry if empty, then start the service (:8000) and dashboard (:8501)
	$(BIN)/python -m core demo
	DASHBOARD_PORT=$(DASHBOARD_PORT) SERVICE_PORT=$(SERVICE_PORT) BIN=$(BIN) scripts/run-all.sh

lint: install-dev  ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install-dev chromium lint  ## install test tools and run every test, browser tests included
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: install-dev  ## benchmarks: serving vs `mlflow models serve`, images vs a tutorial service
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/serve_bench.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/kinds_bench.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/image_bench.py
	$(BIN)/python bench/drift_bench.py
	$(BIN)/python bench/explain_bench.py
	$(BIN)/python bench/export_bench.py
	$(BIN)/python bench/pages_bench.py

image-check:  ## build the image with podman (debootstrap stand-in base), run both commands, wait for health
	scripts/image-check.sh

clean:  ## remove the venv and local state
	rm -rf $(VENV) .modelops .pytest_cache .ruff_cache
