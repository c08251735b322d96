"""The agent loop in the workspace, end to end: real OpenCode, its tools on the real clone, the stand-in model.

A user asks; the model calls `read`, `edit` and `write`; the files change in the clone on the volume; OpenCode
records a git snapshot before each step; undo (`POST /session/:id/revert`) puts every byte back and redo
(`/unrevert`) brings the change again. Then the agent's bash tool runs git in the clone and sees the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from agent.conftest import NOTES
from agent.workspace import AgentWorkspace, git, wait_until
from agent.world import World
from support.model_server import AUXILIARY_TEXT, Turn

pytestmark = pytest.mark.timeout(600)

SNAPSHOT_HASH = re.compile(r"^[0-9a-f]{40}$")


def _snapshot_objects(workspace: AgentWorkspace) -> set[str]:
    """Every object OpenCode's snapshot store on the volume can resolve, loose or packed: its own, and the clone's,
    which it borrows through git's alternates (a tree equal to a commit's is not written twice). Read from the files,
    since the alternates path is the container's."""
    found: set[str] = set()
    store = workspace.home / ".local" / "share" / "opencode" / "snapshot"
    for objects in [*store.glob("**/objects"), workspace.clone / ".git" / "objects"]:
        found |= _objects_in(objects)
    return found


def _objects_in(objects: Path) -> set[str]:
    found = {f"{loose.parent.name}{loose.name}" for loose in objects.glob("[0-9a-f][0-9a-f]/*")}
    for index in objects.glob("pack/*.idx"):
        listing = subprocess.run(
            ["git", "show-index"], stdin=index.open("rb"), capture_output=True, text=True, check=True
        ).stdout
        found |= {line.split()[1] for line in listing.splitlines()}
    return found


def test_edit_is_snapshotted_and_undo_restores_every_byte(workspace: AgentWorkspace) -> None:
    notes = workspace.clone / "notes.txt"
    created = workspace.clone / "agent-created.txt"
    assert notes.read_bytes() == NOTES
    directory = workspace.directory()
    session = workspace.new_session("edit and undo")

    workspace.prompt(
        session,
        "Fix the wording in notes.txt and add a file.",
        [
            Turn.call("read", filePath=f"{directory}/notes.txt"),
            Turn.call("edit", filePath=f"{directory}/notes.txt", oldString="indented line", newString="edited line"),
            Turn.call("write", filePath=f"{directory}/agent-created.txt", content="written by the agent\n"),
            Turn.say("I changed notes.txt and added agent-created.txt."),
        ],
    )

    # The tools ran against the clone on the volume, and their results went back to the model.
    edited = NOTES.replace(b"indented line", b"edited line")
    assert notes.read_bytes() == edited
    assert created.read_bytes() == b"written by the agent\n"
    results = workspace.model.agent_completions()[-1].tool_results()
    assert any("indented line with café" in result for result in results), results  # what `read` returned
    assert git(workspace.clone, "status", "--porcelain") == " M notes.txt\n?? agent-created.txt"

    # The provider package ships inside OpenCode: nothing was installed into the volume (cache, config).
    assert not [p for p in workspace.home.rglob("*") if "openai-compatible" in p.name]

    # Each step starts with a snapshot: a git tree stored on the workspace volume, so it survives restarts.
    messages = workspace.messages(session)
    snapshots = [p["snapshot"] for m in messages for p in m["parts"] if p["type"] == "step-start"]
    assert len(snapshots) >= 3 and all(SNAPSHOT_HASH.match(s) for s in snapshots), snapshots
    assert set(snapshots) <= _snapshot_objects(workspace), "a snapshot is missing from the store on the volume"
    patches = [p for m in messages for p in m["parts"] if p["type"] == "patch"]
    assert {f"{directory}/notes.txt", f"{directory}/agent-created.txt"} <= {f for p in patches for f in p["files"]}

    # Undo, as the UI's /undo does it: revert to before the user's message.
    user_message = next(m["info"]["id"] for m in messages if m["info"]["role"] == "user")
    reverted = workspace.call("POST", f"/session/{session}/revert", json={"messageID": user_message})
    assert reverted["revert"]["messageID"] == user_message
    assert notes.read_bytes() == NOTES  # byte for byte: CRLF, tab, UTF-8, no final newline
    assert not created.exists()
    assert git(workspace.clone, "status", "--porcelain") == ""

    # Redo brings the agent's work back.
    workspace.call("POST", f"/session/{session}/unrevert")
    assert notes.read_bytes() == edited
    assert created.read_bytes() == b"written by the agent\n"

    # Leave the clone as the source has it for the next test.
    workspace.call("POST", f"/session/{session}/revert", json={"messageID": user_message})
    wait_until(lambda: notes.read_bytes() == NOTES and not created.exists(), 10, "the clone to be restored")


def test_agent_bash_runs_git_in_the_clone(world: World) -> None:
    workspace = world.workspace
    directory = workspace.directory()
    source_head = git(world.bare, "rev-parse", "HEAD")
    (workspace.clone / "untracked-by-user.txt").write_text("work in progress\n")
    session = workspace.new_session()  # untitled: OpenCode asks the model for a title
    command = "git status --branch --porcelain && git log --format='%H %s' -n 3 && git rev-parse --show-toplevel"

    workspace.prompt(
        session,
        "What is the state of the repository?",
        [Turn.call("bash", command=command, description="Show the repository state"), Turn.say("Clean but one.")],
    )

    (part,) = workspace.tool_parts(session, "bash")
    assert part["state"]["status"] == "completed", part["state"]
    output = part["state"]["output"]
    assert "## main...origin/main" in output, output  # the clone tracks the source's branch
    assert "?? untracked-by-user.txt" in output, output
    assert f"{source_head} Initial commit" in output, output
    assert output.strip().splitlines()[-1] == directory  # git's top level is the workspace directory
    assert part["state"]["metadata"].get("exit") == 0, part["state"]["metadata"]
    # The model saw exactly what git printed.
    assert any(source_head in result for result in workspace.model.agent_completions()[-1].tool_results())
    # OpenCode's side request, the session title, went to the configured model too, not to a hosted default.
    wait_until(
        lambda: workspace.call("GET", f"/session/{session}")["title"] == AUXILIARY_TEXT, 60, "the model-made title"
    )
    (workspace.clone / "untracked-by-user.txt").unlink()


def test_undo_still_works_after_the_workspace_restarts(world_to_switch: World) -> None:
    """The restart is the one a changed setting makes (push switched on in `ks.yaml`): the pod is replaced, the volume
    stays. The push tests then use the restarted workspace rather than starting one of their own."""
    workspace = world_to_switch.workspace
    readme = workspace.clone / "README.md"
    original = readme.read_bytes()
    directory = workspace.directory()
    session = workspace.new_session("undo after a restart")
    workspace.prompt(
        session,
        "Rewrite the README title.",
        [
            Turn.call("read", filePath=f"{directory}/README.md"),
            Turn.call("edit", filePath=f"{directory}/README.md", oldString="# Source", newString="# Renamed"),
            Turn.say("Renamed."),
        ],
    )
    assert readme.read_bytes() == b"# Renamed\n"

    world_to_switch.restart(push=True)  # the pod goes away; the volume, with sessions and snapshots, stays

    messages = workspace.messages(session)
    user_message = next(m["info"]["id"] for m in messages if m["info"]["role"] == "user")
    workspace.call("POST", f"/session/{session}/revert", json={"messageID": user_message})
    assert readme.read_bytes() == original
    assert git(workspace.clone, "status", "--porcelain") == ""
