"""Fixtures for the agent loop end to end: the stand-in model and a workspace whose agent it drives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.workspace import AgentWorkspace
from agent.world import World, running_world
from support.image import workspace_image  # noqa: F401 - the session fixture: built as `make image` builds it
from support.model_server import ModelServer

# Bytes an editor or a line-ending conversion would change: CRLF, a tab, non-ASCII, no newline at the end.
NOTES = b"Workspace notes\r\n\tindented line with caf\xc3\xa9\r\nlast line without newline"


@pytest.fixture(scope="package")
def engine(request: pytest.FixtureRequest) -> str:
    """`ocw up --engine container`: the workspace in its image, as the pod runs. The image fixture skips the tests,
    saying why, when no container engine can run here."""
    request.getfixturevalue("workspace_image")
    return "container"


@pytest.fixture(scope="package")
def model() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory, model: ModelServer, engine: str) -> Iterator[World]:
    """A workspace with push switched off (the default), for what needs no push. Shared by the folder's modules
    (one worker runs them all) and stopped after the folder's last test: a test leaves its clone and its model as it
    found them."""
    files = {"README.md": b"# Source\n", "notes.txt": NOTES}
    with running_world(tmp_path_factory.mktemp("agent"), model, engine, files, push=False) as started:
        yield started


@pytest.fixture(scope="package")
def workspace(world: World) -> AgentWorkspace:
    return world.workspace
