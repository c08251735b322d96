from __future__ import annotations

from pathlib import Path

import pytest

from check.tree_copy import TreeCopy, copy_tree
from support import schema_cache


@pytest.fixture(autouse=True)
def private_schema_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user cache of this test's own (schemas, charts, renders), and unreachable public catalogs."""
    return schema_cache.private_schema_cache(tmp_path, monkeypatch)


@pytest.fixture
def tree(tmp_path: Path) -> TreeCopy:
    return copy_tree(tmp_path / "repo")
