from __future__ import annotations

from pathlib import Path

import pytest

from check.conftest import shared_caches
from support import schema_cache

__all__ = ["shared_caches"]


@pytest.fixture(autouse=True)
def private_schema_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, shared_caches: Path
) -> Path:
    """A user cache of this test's own, never the machine's (beside tmp_path, which tests here take as a repository
    whole): its builds, renders and verdicts are the run's."""
    return schema_cache.private_schema_cache(tmp_path_factory.mktemp("cache"), monkeypatch, shared_caches)
