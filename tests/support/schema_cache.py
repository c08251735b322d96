"""Tests see the vendored schemas only: a user's `ocw schemas update` must not change their results, and nothing
may be downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.run_folder import run_folder

# Loopback's discard port refuses at once: the catalogs stand unreachable, as offline.
UNREACHABLE_CATALOG = "http://127.0.0.1:9/"


# The user caches every test of a run may share: each entry is keyed by everything that decides it.
SHARED_CACHES = ("renders", "builds", "validations")


def shared_caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of helm renders, kustomize builds and validation verdicts for every test of this run, in all its
    workers (their temporary roots share a parent). An entry is keyed by everything that decides it (chart digest,
    values, the files a build reads, the object and its schema, versions); renders and builds are written whole under
    a temporary name then renamed, verdicts in SQLite transactions, so workers filling them at once never read a
    partial one."""
    folder = run_folder(tmp_path_factory) / "ocw-shared-caches"
    for kind in SHARED_CACHES:
        (folder / kind).mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def share_caches(ocw_cache: Path, shared: Path) -> None:
    """Make the ocw user cache `ocw_cache` (`$XDG_CACHE_HOME/ocw`) use the run's shared renders, builds and verdicts;
    its schemas and charts stay its own."""
    ocw_cache.mkdir(parents=True, exist_ok=True)
    for kind in SHARED_CACHES:
        (ocw_cache / kind).symlink_to(shared / kind, target_is_directory=True)


def private_schema_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared: Path | None = None) -> Path:
    """Give this test an empty cache of its own and unreachable catalogs; returns the cache's schemas directory.
    With `shared`, the cache's renders, builds and verdicts are the run's (for tests that do not test those caches)."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("OCW_CRD_CATALOG_URL", UNREACHABLE_CATALOG)
    monkeypatch.setenv("OCW_APP_TEMPLATE_SCHEMA_URL", UNREACHABLE_CATALOG)
    if shared is not None:
        share_caches(cache / "ocw", shared)
    return cache / "ocw" / "schemas"
