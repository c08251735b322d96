"""Fixtures for the agent loop end to end: the stand-in model and a workspace whose agent it drives."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

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
def started_world(tmp_path_factory: pytest.TempPathFactory, model: ModelServer, engine: str) -> Iterator[World]:
    """The folder's one workspace, started with push switched off (the default). Shared by the folder's modules (one
    worker runs them all) and stopped after the folder's last test: a test leaves its clone, the git server and the
    model as it found them. The fixtures below switch push as their tests need it, restarting the workspace."""
    files = {"README.md": b"# Source\n", "notes.txt": NOTES}
    with running_world(tmp_path_factory.mktemp("agent"), model, engine, files, push=False) as started:
        yield started


@pytest.fixture
def world(started_world: World) -> World:
    """The workspace with push switched off, for what needs no push."""
    return started_world.with_push(False)


@pytest.fixture
def world_to_switch(started_world: World) -> World:
    """The workspace with push switched off, for a test that restarts it with push switched on."""
    return started_world.with_push(False)


@pytest.fixture
def push_enabled(started_world: World) -> Iterator[World]:
    """The workspace with push switched on. Afterwards the clone is on main again and the branches a test pushed are
    gone from the git server."""
    world = started_world.with_push(True)
    yield world
    keep = ("refs/heads/main", "refs/remotes/origin/main", "refs/remotes/origin/HEAD")
    others = " ".join(f"-e '^{ref}$'" for ref in keep)
    restored = world.workspace.shell(
        "git switch -q -f main && git for-each-ref --format='%(refname)' refs/heads refs/remotes "
        f"| grep -v {others} | xargs -r -n 1 git update-ref -d; git status --porcelain"
    )
    assert restored.returncode == 0 and restored.stdout == "", restored.stdout + restored.stderr
    for ref in git_refs(world.bare):
        if ref != "refs/heads/main":
            subprocess.run(["git", "--git-dir", str(world.bare), "update-ref", "-d", ref], check=True)


@pytest.fixture
def workspace(world: World) -> AgentWorkspace:
    return world.workspace


def git_refs(bare: Path) -> list[str]:
    listed = ["git", "--git-dir", str(bare), "for-each-ref", "--format=%(refname)", "refs/heads"]
    return subprocess.run(listed, capture_output=True, text=True, check=True).stdout.split()


_PUSH_STAGES = ("world_to_switch", "push_enabled")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The folder's workspace tests in the order that restarts the workspace least: those that need push switched
    off, then the one whose restart switches it on, then those that need it on. Any order is correct (each fixture
    switches push as its test needs it), only slower; the other tests keep their places."""
    places = [i for i, item in enumerate(items) if "started_world" in getattr(item, "fixturenames", ())]
    ordered = sorted((items[i] for i in places), key=_push_stage)
    for place, item in zip(places, ordered, strict=True):
        items[place] = item


def _push_stage(item: pytest.Item) -> int:
    names = getattr(item, "fixturenames", ())
    return max((stage for stage, name in enumerate(_PUSH_STAGES, 1) if name in names), default=0)
