"""Tests see the vendored schemas only: a user's `ocw schemas update` must not change their results, and nothing
may be downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

# Loopback's discard port refuses at once: the catalogs stand unreachable, as offline.
UNREACHABLE_CATALOG = "http://127.0.0.1:9/"


def private_schema_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give this test an empty cache of its own and unreachable catalogs; returns the cache's schemas directory."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("OCW_CRD_CATALOG_URL", UNREACHABLE_CATALOG)
    monkeypatch.setenv("OCW_APP_TEMPLATE_SCHEMA_URL", UNREACHABLE_CATALOG)
    return cache / "ocw" / "schemas"
