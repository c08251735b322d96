from __future__ import annotations

from pathlib import Path

import pytest

from check.conftest import shared_caches
from check.tree_copy import TreeCopy, copy_tree
from support import schema_cache
from support.prerequisites import require_path
from support.wheel import shared_wheel

__all__ = ["shared_caches"]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def private_schema_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return schema_cache.private_schema_cache(tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def ocw_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ocw's wheel, built once for the run."""
    return shared_wheel(tmp_path_factory)


@pytest.fixture
def tree(tmp_path: Path) -> TreeCopy:
    return copy_tree(tmp_path / "repo")


@pytest.fixture
def real_kubectl() -> Path:
    """The project's pinned kubectl: the real kustomize behind every PATH arrangement these tests build."""
    return require_path(REPO / "tools" / "bin" / "kubectl", what="the pinned kubectl (`make setup` extracts it)")


@pytest.fixture
def no_pinned_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty tools directory: as on a machine where `make setup` never ran (an ocw installed as a tool)."""
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("OCW_TOOLS_DIR", str(empty))
    return empty


@pytest.fixture
def real_helm() -> Path:
    """The project's pinned helm (v4.1.4): the real renderer behind every PATH arrangement these tests build."""
    return require_path(REPO / "tools" / "bin" / "helm", what="the pinned helm (`make setup` extracts it)")


@pytest.fixture
def real_opencode() -> Path:
    """The project's pinned OpenCode (npm opencode-ai), the program itself rather than npm's link to it."""
    return require_path(REPO / "tools" / "node_modules" / ".bin" / "opencode", what="the pinned OpenCode").resolve()
