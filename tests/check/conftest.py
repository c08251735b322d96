from __future__ import annotations

from pathlib import Path

import pytest

from check.tree_copy import TreeCopy, copy_tree


@pytest.fixture(autouse=True)
def private_schema_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every check test sees the vendored schemas only: an empty cache of its own (a user's `ocw schemas update`
    must not change results) and a catalog on loopback's discard port, which refuses at once, so nothing downloads."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("OCW_CRD_CATALOG_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("OCW_APP_TEMPLATE_SCHEMA_URL", "http://127.0.0.1:9/")
    return cache / "ocw" / "schemas"


@pytest.fixture
def tree(tmp_path: Path) -> TreeCopy:
    return copy_tree(tmp_path / "repo")
