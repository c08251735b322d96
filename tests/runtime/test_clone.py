"""The clone: made once, on the first start, and only ever put in place whole; never touched again after that."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pytest

from runtime.workspace_pod import Pod


def snapshot(directory: Path) -> dict[str, tuple[int, int, str]]:
    """Every file and directory below `directory`: mode, modification time and content hash."""
    state: dict[str, tuple[int, int, str]] = {}
    for path in sorted(directory.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
        state[str(path.relative_to(directory))] = (info.st_mode, info.st_mtime_ns, digest)
    return state


def staging_dir(pod: Pod) -> Path:
    return pod.workspace.parent / f".{pod.workspace.name}.clone-in-progress"


def kept_aside(pod: Pod) -> list[Path]:
    return sorted(pod.workspace.parent.glob(f"{pod.workspace.name}.before-clone-*"))


def assert_good_clone(pod: Pod) -> None:
    assert pod.git("rev-parse", "HEAD") == pod.upstream.head()
    assert pod.git("symbolic-ref", "--short", "HEAD") == "main"
    assert pod.git("status", "--porcelain", "--untracked-files=all") == ""
    assert not staging_dir(pod).exists()


def test_first_boot_clones_the_repository_with_the_token_from_the_secret(pod: Pod) -> None:
    result = pod.run()

    assert result.returncode == 0, result.describe()
    assert_good_clone(pod)
    assert (pod.workspace / "kubernetes" / "apps" / "opencode" / "namespace.yaml").is_file()
    origin = pod.git("config", "--get", "remote.origin.url")
    assert origin == pod.repository_url
    assert "@" not in origin
    assert (pod.workspace / "README.md").stat().st_uid == pod.identity.uid
    assert f"cloned {pod.repository_url} into {pod.workspace}" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("init: done in ")
    # The server asked for credentials and git answered with the token, through the helper.
    requests = pod.server.requests()
    assert any(request.status == 401 for request in requests)
    assert any(request.is_fetch and request.authorized for request in requests)
    assert {request.username for request in requests if request.authorized} == {"x-access-token"}


def test_a_later_boot_neither_clones_nor_touches_git(pod: Pod) -> None:
    # How quick such a start is lives in bench/runtime.py (init), not here: a loaded machine is not a slow step.
    pod.boot()
    before = snapshot(pod.workspace / ".git")
    pod.server.clear_requests()

    runs = [pod.boot() for _ in range(3)]

    assert pod.server.requests() == []
    assert snapshot(pod.workspace / ".git") == before
    assert f"repository present at {pod.workspace}" in runs[0].stdout
    assert all("not cloning" in run.stdout for run in runs)


def test_a_clone_killed_midway_leaves_no_half_repository_and_the_next_start_clones(pod: Pod) -> None:
    with pod.server.fetches_held() as fetch_waiting:
        process = pod.start()
        assert fetch_waiting.wait(timeout=30), "the clone never reached the object transfer"
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    assert staging_dir(pod).is_dir()
    assert not pod.workspace.exists()

    result = pod.boot()

    assert "unfinished clone left by an interrupted start" in result.stdout
    assert_good_clone(pod)
    assert kept_aside(pod) == []


def test_an_unfinished_clone_at_the_workspace_path_is_replaced(pod: Pod) -> None:
    # What an older, non-atomic clone leaves when killed before it fetched anything.
    pod.make_dir(pod.workspace)
    pod.git("init", "--quiet")
    pod.git("remote", "add", "origin", pod.repository_url)

    result = pod.boot()

    assert "replaced the unfinished clone" in result.stdout
    assert_good_clone(pod)


def test_a_directory_that_is_not_a_repository_is_moved_aside_untouched(pod: Pod) -> None:
    pod.write_file("draft/plan.md", "my plan\n")

    result = pod.boot()

    [kept] = kept_aside(pod)
    assert (kept / "draft" / "plan.md").read_text() == "my plan\n"
    assert str(kept) in result.stdout
    assert_good_clone(pod)


def test_a_repository_git_cannot_open_is_moved_aside_untouched(pod: Pod) -> None:
    pod.make_dir(pod.workspace / ".git" / "objects")
    pod.write_file("notes.txt", "keep me\n")

    result = pod.boot()

    [kept] = kept_aside(pod)
    assert (kept / "notes.txt").read_text() == "keep me\n"
    assert (kept / ".git" / "objects").is_dir()
    assert "not a usable git clone" in result.stdout
    assert_good_clone(pod)


def test_an_empty_directory_is_cloned_into_without_leaving_anything_aside(pod: Pod) -> None:
    pod.make_dir(pod.workspace)

    pod.boot()

    assert kept_aside(pod) == []
    assert_good_clone(pod)


def test_a_repository_without_commits_that_holds_work_is_kept(pod: Pod) -> None:
    pod.make_dir(pod.workspace)
    pod.git("init", "--quiet")
    pod.write_file("started.txt", "first thoughts\n")

    result = pod.boot()

    assert "without commits yet: kept as it is" in result.stdout
    assert (pod.workspace / "started.txt").read_text() == "first thoughts\n"
    assert kept_aside(pod) == []
    assert pod.server.requests() == []


def test_a_clone_of_another_repository_is_kept_and_the_difference_is_reported(pod: Pod) -> None:
    pod.boot()
    other = pod.server.url("other.git")
    pod.git("remote", "set-url", "origin", other)

    result = pod.boot()

    assert f"the clone's origin is {other}, not WORKSPACE_GIT_REPOSITORY={pod.repository_url}" in result.stderr
    assert pod.git("config", "--get", "remote.origin.url") == other


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the clone to another uid needs root")
@pytest.mark.parametrize("mode", [0o700, 0o755], ids=["unreadable", "readable"])
def test_a_clone_owned_by_another_user_stops_the_start_and_is_left_alone(pod: Pod, mode: int) -> None:
    # What a restore that lost the files' owner would leave behind.
    pod.boot()
    for path in [pod.workspace, *pod.workspace.rglob("*")]:
        os.chown(path, 4242, 4242, follow_symlinks=False)
    pod.workspace.chmod(mode)
    before = snapshot(pod.workspace)
    pod.server.clear_requests()

    result = pod.run()

    assert result.returncode == 1, result.describe()
    [error] = result.errors
    assert f"{pod.workspace} belongs to uid 4242" in error
    assert "nothing was changed" in error
    assert snapshot(pod.workspace) == before
    assert kept_aside(pod) == []
    assert not staging_dir(pod).exists()
    assert pod.server.requests() == []
