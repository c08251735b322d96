from __future__ import annotations

from pathlib import Path

import pytest

from check.tree_copy import TreeCopy, copy_tree
from support import schema_cache


@pytest.fixture(scope="session")
def shared_caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return schema_cache.shared_caches(tmp_path_factory)


@pytest.fixture(autouse=True)
def private_schema_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_caches: Path) -> Path:
    """Schemas of this test's own; helm renders, kustomize builds and verdicts shared with the run (tests/helm tests
    the render cache itself, test_check_caches.py the others)."""
    return schema_cache.private_schema_cache(tmp_path, monkeypatch, shared_caches)


@pytest.fixture
def tree(tmp_path: Path) -> TreeCopy:
    return copy_tree(tmp_path / "repo")
