"""Committing and pushing from inside the workspace, through the credential helper, to a token-guarded git server.

The workspace clones `https://127.0.0.1:<port>/k8s-cluster.git` from tests/support/git_http_server.py (HTTPS with a
throwaway CA handed to `ocw up` as GIT_SSL_CAINFO, which it passes to the pod), with the token in the workspace
Secret as the manifests mount it. With push switched on in its `ks.yaml` (the folder's workspace, restarted with the
switch; tests/agent/conftest.py), the agent's bash tool, a shell in the OpenCode container, commits and pushes a
branch. The push goes through only with the token, yet the token reaches no file on the volume, no log, no
command line or environment (every program started during the push, recorded by strace), not .git/config, and not
the model provider.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.workspace import git
from agent.world import World
from runtime.process_watch import ProcessWatch
from support.model_server import Turn

pytestmark = pytest.mark.timeout(600)

BRANCH = "agent/readme-fix"


def _push_script(directory: str) -> list[Turn]:
    command = (
        "git switch -q -c agent/readme-fix && git add README.md && "
        "git -c user.name='Workspace Agent' -c user.email=agent@example.invalid commit -q -m 'Fix the README' && "
        "git push origin HEAD 2>&1; echo push-exit=$?"
    )
    return [
        Turn.call("read", filePath=f"{directory}/README.md"),
        Turn.call("write", filePath=f"{directory}/README.md", content="# Cluster\n\nEdited in the workspace.\n"),
        Turn.call("bash", command=command, description="Commit and push the change"),
        Turn.say("Pushed."),
    ]


def _has_branch(bare: Path, branch: str) -> bool:
    verify = ["git", "--git-dir", str(bare), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"]
    return subprocess.run(verify, capture_output=True, check=False).returncode == 0


def _files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [
        path for path in folder.rglob("*") if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
    ]


def test_agent_commits_and_pushes_through_the_credential_helper_without_leaking_the_token(
    push_enabled: World,
) -> None:
    world = push_enabled
    workspace = world.workspace
    directory = workspace.directory()
    session = workspace.new_session("push")
    world.server.clear_requests()

    with ProcessWatch([world.token.encode()], also=workspace.processes()) as watch:
        workspace.prompt(session, "Edit the README, commit it on a branch and push it.", _push_script(directory))

    (bash,) = workspace.tool_parts(session, "bash")
    output = bash["state"]["output"]
    assert "push-exit=0" in output, output
    # The server holds the agent's commit, on the branch it pushed, with its content.
    pushed = git(world.bare, "rev-parse", f"refs/heads/{BRANCH}")
    assert pushed == git(workspace.clone, "rev-parse", "HEAD")
    assert git(world.bare, "show", f"{pushed}:README.md") == "# Cluster\n\nEdited in the workspace."
    # It got there with the token, which only the credential helper can have supplied.
    authorized = [r for r in world.server.requests() if r.authorized]
    assert any(r.path.endswith("/git-receive-pack") and r.method == "POST" for r in authorized), authorized
    assert {r.username for r in authorized} == {"x-access-token"}

    # The watch really recorded the push (a watch that saw nothing proves nothing)...
    assert watch.started > 10 and watch.saw_command("git push"), sorted(watch.commands)[:50]
    # ...and no process held the token in its command line or environment.
    assert watch.sightings == []
    needle = world.token.encode()
    assert _files_holding(workspace.home, needle) == []  # the clone, .git/config, sessions, snapshots, logs
    assert _files_holding(workspace.logs, needle) == []
    assert world.token not in (workspace.clone / ".git" / "config").read_text()
    assert world.token not in output
    assert all(world.token not in str(c.body) for c in workspace.model.completions)  # nothing went to the model
    assert world.token not in workspace.container_log()


def test_a_terminal_in_the_container_pushes_too_without_leaking_the_token(push_enabled: World) -> None:
    world = push_enabled
    workspace = world.workspace
    script = (
        "set -e; git switch -q -c terminal/notes; printf 'from the terminal\\n' > TERMINAL.md; git add TERMINAL.md; "
        "git -c user.name='Workspace User' -c user.email=user@example.invalid commit -q -m 'Add terminal notes'; "
        "git push -q origin HEAD 2>&1"
    )

    with ProcessWatch([world.token.encode()], also=workspace.processes()) as watch:
        result = workspace.shell(script)

    assert result.returncode == 0, result.stdout + result.stderr
    pushed = git(world.bare, "rev-parse", "refs/heads/terminal/notes")
    assert git(world.bare, "show", f"{pushed}:TERMINAL.md") == "from the terminal"
    assert watch.saw_command("git push") and watch.sightings == []
    assert world.token not in result.stdout + result.stderr
    assert _files_holding(workspace.home, world.token.encode()) == []


def test_with_push_switched_off_the_push_fails_with_gits_credential_error(world: World) -> None:
    """On the folder's workspace with push switched off (the default); the commit the agent makes stays on its own
    branch, which the test removes again, so the clone is back on main as the other tests expect it."""
    workspace = world.workspace
    try:
        _push_without_the_switch(world)
    finally:
        restored = workspace.shell(f"git switch -q -f main && git branch -q -D {BRANCH}; git status --porcelain")
        assert restored.returncode == 0 and restored.stdout == "", restored.stdout + restored.stderr


def _push_without_the_switch(world: World) -> None:
    workspace = world.workspace
    # The init step still cloned through the token: the switch only keeps it out of the OpenCode container, where
    # the token file is there but empty.
    assert git(workspace.clone, "rev-parse", "HEAD") == git(world.bare, "rev-parse", "HEAD")
    probe = workspace.shell('test -e "$GIT_TOKEN_FILE" && ! test -s "$GIT_TOKEN_FILE"')
    assert probe.returncode == 0, "the token file in the OpenCode container is missing or not empty"
    session = workspace.new_session("push without the switch")
    world.server.clear_requests()

    with ProcessWatch([world.token.encode()], also=workspace.processes()) as watch:
        workspace.prompt(
            session, "Edit the README, commit it on a branch and push it.", _push_script(workspace.directory())
        )

    (bash,) = workspace.tool_parts(session, "bash")
    output = bash["state"]["output"]
    assert "push-exit=128" in output, output
    assert "could not read Username" in output, output  # git found no credential to offer
    assert not _has_branch(world.bare, BRANCH)
    requests = world.server.requests()
    assert requests and not any(r.authorized for r in requests), requests  # asked, and never with the token
    assert watch.saw_command("git push") and watch.sightings == []
    needle = world.token.encode()
    assert _files_holding(workspace.home, needle) == []
    assert _files_holding(workspace.logs, needle) == []
    assert world.token not in output
    assert all(world.token not in str(c.body) for c in workspace.model.completions)
