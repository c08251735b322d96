"""Tests see the vendored schemas only: a user's `ocw schemas update` must not change their results, and nothing
may be downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.run_folder import run_folder

# Loopback's discard port refuses at once: the catalogs stand unreachable, as offline.
UNREACHABLE_CATALOG = "http://127.0.0.1:9/"


def shared_renders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of helm renders for every test of this run, in all its workers (their temporary roots share a
    parent). A render is keyed by everything that decides it (chart digest, values, versions) and written whole
    under a temporary name then renamed, so workers filling it at once never read a partial one."""
    folder = run_folder(tmp_path_factory) / "ocw-shared-renders"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def private_schema_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renders: Path | None = None) -> Path:
    """Give this test an empty cache of its own and unreachable catalogs; returns the cache's schemas directory.
    With `renders`, the cache's helm renders are that shared folder (for tests that do not test the render cache)."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("OCW_CRD_CATALOG_URL", UNREACHABLE_CATALOG)
    monkeypatch.setenv("OCW_APP_TEMPLATE_SCHEMA_URL", UNREACHABLE_CATALOG)
    if renders is not None:
        (cache / "ocw").mkdir(parents=True)
        (cache / "ocw" / "renders").symlink_to(renders, target_is_directory=True)
    return cache / "ocw" / "schemas"
