"""Fixtures for the agent loop end to end: the stand-in model and a workspace whose agent it drives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.workspace import AgentWorkspace, make_source_repository
from support.model_server import ModelServer
from up.helpers import free_port

# Bytes an editor or a line-ending conversion would change: CRLF, a tab, non-ASCII, no newline at the end.
NOTES = b"Workspace notes\r\n\tindented line with caf\xc3\xa9\r\nlast line without newline"


@pytest.fixture(scope="module")
def model() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, model: ModelServer) -> Iterator[AgentWorkspace]:
    base = tmp_path_factory.mktemp("agent")
    source = make_source_repository(base / "source", {"README.md": b"# Source\n", "notes.txt": NOTES})
    local = AgentWorkspace(state_dir=base / "state", port=free_port(), source=str(source), model=model)
    local.up()
    yield local
    local.down()
