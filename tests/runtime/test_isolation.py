"""The volume is writable by the agent, and the init step holds the token: nothing on the volume may make the step
run code or hand the token to anything but the credential helper. Each test plants one such trap where the agent
could, then starts the pod and looks for what the trap would have left behind."""

from __future__ import annotations

from pathlib import Path

from runtime.test_secrecy import files_containing, secret_forms
from runtime.workspace_pod import Pod, git

# What every trap does when it runs: copy the mounted token onto the volume, and leave a mark that it ran.
STEAL = '#!/bin/sh\ncat "$GIT_TOKEN_FILE" > "{loot}" 2>/dev/null; echo ran >> "{mark}"\ncat >/dev/null\n'


def plant(pod: Pod, name: str) -> tuple[Path, Path, Path]:
    """An executable trap script on the volume; returns (script, loot file, mark file)."""
    loot, mark = pod.home / f"{name}.loot", pod.home / f"{name}.ran"
    script = pod.write_file(pod.home / "traps" / name, STEAL.format(loot=loot, mark=mark))
    script.chmod(0o755)
    return script, loot, mark


def assert_not_stolen(pod: Pod, token: str, *marks: Path) -> None:
    for mark in marks:
        assert not mark.exists(), f"{mark.name}: the trap ran inside the init step"
    assert files_containing(pod.home, secret_forms(token)) == []
    assert not (pod.home / ".git-credentials").exists()


def test_a_credential_helper_in_the_global_git_config_never_gets_the_token(pod: Pod, git_token: str) -> None:
    _script, loot, mark = plant(pod, "helper")
    pod.write_file(pod.home / ".gitconfig", f"[credential]\n\thelper = store\n\thelper = !{_script}\n")

    pod.boot()

    assert pod.git("rev-parse", "HEAD") == pod.upstream.head()
    assert_not_stolen(pod, git_token, mark, loot)


def test_a_hooks_path_in_the_global_git_config_runs_nothing(pod: Pod, git_token: str) -> None:
    script, loot, mark = plant(pod, "post-checkout")
    pod.write_file(pod.home / ".config" / "git" / "config", f"[core]\n\thooksPath = {script.parent}\n")

    pod.boot()

    assert pod.git("rev-parse", "HEAD") == pod.upstream.head()
    assert_not_stolen(pod, git_token, mark, loot)


def test_a_post_merge_hook_in_the_clone_does_not_run_during_the_pull(pod: Pod, git_token: str) -> None:
    pod.boot()
    script, loot, mark = plant(pod, "post-merge")
    hook = pod.write_file(pod.workspace / ".git" / "hooks" / "post-merge", script.read_text())
    hook.chmod(0o755)
    new_head = pod.upstream.commit({"later.txt": "later\n"}, "Later")

    result = pod.boot(pull="enabled")

    assert pod.git("rev-parse", "HEAD") == new_head, result.describe()
    assert_not_stolen(pod, git_token, mark, loot)


def test_a_credential_helper_in_the_clone_never_gets_the_token(pod: Pod, git_token: str) -> None:
    pod.boot()
    script, loot, mark = plant(pod, "local-helper")
    pod.git("config", "--add", "credential.helper", f"store --file={pod.home / 'stored'}")
    pod.git("config", "--add", "credential.helper", f"!{script}")
    pod.upstream.commit({"later.txt": "later\n"}, "Later")

    result = pod.boot(pull="enabled")

    assert_not_stolen(pod, git_token, mark, loot)
    assert not (pod.home / "stored").exists()
    assert "credential.helper" in result.stderr, result.describe()


def test_an_fsmonitor_in_the_clone_does_not_run(pod: Pod, git_token: str) -> None:
    pod.boot()
    script, loot, mark = plant(pod, "fsmonitor")
    pod.git("config", "core.fsmonitor", str(script))
    pod.write_file("README.md", "# changed in the workspace\n")  # so the pull looks at the work tree
    pod.upstream.commit({"later.txt": "later\n"}, "Later")

    result = pod.boot(pull="enabled")

    assert_not_stolen(pod, git_token, mark, loot)
    assert "core.fsmonitor" in result.stderr, result.describe()


def test_a_remote_rewritten_to_a_local_command_is_not_fetched(pod: Pod, git_token: str) -> None:
    pod.boot()
    script, loot, mark = plant(pod, "upload-pack")
    pod.git("config", f"url.{pod.upstream.bare}.insteadOf", pod.repository_url)
    pod.git("config", "remote.origin.uploadpack", str(script))
    pod.upstream.commit({"later.txt": "later\n"}, "Later")

    result = pod.boot(pull="enabled")

    assert_not_stolen(pod, git_token, mark, loot)
    assert "not pulling" in result.stderr, result.describe()


def test_a_default_branch_renamed_upstream_is_noticed(pod: Pod) -> None:
    pod.boot()
    head = pod.git("rev-parse", "HEAD")
    bare = pod.upstream.bare
    git("branch", "-m", "main", "trunk", cwd=bare)
    git("symbolic-ref", "HEAD", "refs/heads/trunk", cwd=bare)

    result = pod.boot(pull="enabled")

    assert "origin/main is gone from the remote" in result.stdout, result.describe()
    assert "up to date" not in result.stdout
    assert pod.git("rev-parse", "HEAD") == head
