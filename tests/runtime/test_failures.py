"""When the workspace cannot start: one clear line saying why and what to do, nothing half-done, no secret."""

from __future__ import annotations

import os

import pytest

from runtime.workspace_pod import Pod
from support.ports import unused
from support.tokens import random_text


def closed_port(first: int) -> int:
    """A port nothing listens on, from `first` up: git's "port 40301" must not read as an HTTP 403."""
    for port in range(first, first + 100):
        if unused(port):
            return port
    raise AssertionError(f"no free port in {first}..{first + 99}")


def assert_nothing_cloned(pod: Pod) -> None:
    assert not pod.workspace.exists()
    assert not (pod.workspace.parent / f".{pod.workspace.name}.clone-in-progress").exists()


def test_a_wrong_token_fails_clearly_and_a_fixed_one_recovers(pod: Pod, git_token: str) -> None:
    wrong = random_text("ghp_")
    pod.set_token(wrong)

    result = pod.run()

    assert result.returncode == 1, result.describe()
    [error] = result.errors
    assert "the server refused the token" in error
    assert "GITHUB_TOKEN in the workspace Secret" in error
    assert "Authentication failed" in error
    assert wrong not in result.output
    assert git_token not in result.output
    assert_nothing_cloned(pod)
    assert not any(request.authorized for request in pod.server.requests())

    pod.set_token(git_token)
    pod.boot()
    assert pod.git("rev-parse", "HEAD") == pod.upstream.head()


def test_a_token_that_cannot_read_the_repository_fails_clearly(pod: Pod, git_token: str) -> None:
    pod.server.forbidden.add(pod.upstream.name)

    result = pod.run()

    assert result.returncode == 1, result.describe()
    [error] = result.errors
    assert "the server refused the token" in error
    assert "returned error: 403" in error
    assert git_token not in result.output
    assert_nothing_cloned(pod)


def test_an_empty_token_file_is_named_as_the_problem(pod: Pod) -> None:
    pod.set_token("")

    result = pod.run()

    assert result.returncode == 1, result.describe()
    assert f"GIT_TOKEN_FILE ('{pod.token_file}') is missing or empty" in result.stderr
    [error] = result.errors
    assert "the repository needs a token" in error
    assert_nothing_cloned(pod)


@pytest.mark.parametrize("first", [40100, 40300, 50000])
def test_an_unreachable_remote_fails_clearly(pod: Pod, first: int) -> None:
    port = closed_port(first)

    result = pod.run(env={"WORKSPACE_GIT_REPOSITORY": f"https://127.0.0.1:{port}/k8s-cluster.git"})

    assert result.returncode == 1, result.describe()
    [error] = result.errors
    assert f"cannot reach 127.0.0.1:{port}" in error
    assert_nothing_cloned(pod)


def test_a_repository_that_does_not_exist_fails_clearly(pod: Pod) -> None:
    result = pod.run(env={"WORKSPACE_GIT_REPOSITORY": pod.server.url("no-such-repository.git")})

    assert result.returncode == 1, result.describe()
    [error] = result.errors
    assert "the repository was not found, or the token cannot see it" in error
    assert_nothing_cloned(pod)


def test_an_unwritable_volume_fails_clearly_and_writes_nothing(pod: Pod) -> None:
    if os.geteuid() == 0:
        os.chown(pod.home, 0, 0)  # the volume is not the pod user's: what a missing fsGroup looks like
    else:
        pod.home.chmod(0o555)

    result = pod.run()

    assert result.returncode == 1, result.describe()
    [error] = result.errors
    assert f"the workspace volume at {pod.home} is not writable by uid {pod.identity.uid}" in error
    assert "fsGroup" in error
    assert list(pod.home.iterdir()) == []
    assert pod.server.requests() == []


def test_an_unwritable_directory_for_the_clone_fails_clearly(pod: Pod) -> None:
    clones_dir = pod.workspace.parent
    clones_dir.mkdir()
    if os.geteuid() != 0:
        clones_dir.chmod(0o555)  # as root it stays root's own, which the pod's uid cannot write to

    result = pod.run()

    assert result.returncode == 1, result.describe()
    [error] = result.errors
    assert f"git cannot write under {clones_dir}" in error
    assert f"writable by uid {pod.identity.uid}" in error
    assert_nothing_cloned(pod)


def test_a_repository_url_with_a_password_in_it_is_refused_without_printing_it(pod: Pod, git_token: str) -> None:
    url = f"https://x-access-token:{git_token}@{pod.server.authority}/{pod.upstream.name}"

    result = pod.run(env={"WORKSPACE_GIT_REPOSITORY": url})

    assert result.returncode == 1, result.describe()
    [error] = result.errors
    assert "WORKSPACE_GIT_REPOSITORY has a user name or password in it" in error
    assert git_token not in result.output
    assert_nothing_cloned(pod)
    assert pod.server.requests() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"WORKSPACE_DIR": None}, "WORKSPACE_DIR is not set"),
        ({"WORKSPACE_DIR": "git/k8s-cluster"}, "WORKSPACE_DIR=git/k8s-cluster is not an absolute path"),
        ({"HOME": None}, "HOME is not set"),
        ({"WORKSPACE_GIT_REPOSITORY": None}, "WORKSPACE_GIT_REPOSITORY is not set"),
    ],
    ids=["no-workspace-dir", "relative-workspace-dir", "no-home", "no-repository"],
)
def test_missing_settings_are_named(pod: Pod, overrides: dict[str, str | None], expected: str) -> None:
    result = pod.run(env=overrides)

    assert result.returncode == 1, result.describe()
    [error] = result.errors
    assert expected in error
    assert_nothing_cloned(pod)


def test_the_workspace_may_not_be_the_volume_itself(pod: Pod) -> None:
    result = pod.run(env={"WORKSPACE_DIR": f"{pod.home}/"})

    assert result.returncode == 1, result.describe()
    [error] = result.errors
    assert "WORKSPACE_DIR must be a directory of its own on the workspace volume" in error
    assert list(pod.home.iterdir()) == []
