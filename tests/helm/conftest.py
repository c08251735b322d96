"""The same tree copy as the check tests, and a user cache entirely of each test's own: these tests test the render
cache itself."""

from pathlib import Path

import pytest

from check.conftest import tree
from support import schema_cache

__all__ = ["tree"]


@pytest.fixture(autouse=True)
def private_schema_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return schema_cache.private_schema_cache(tmp_path, monkeypatch)
