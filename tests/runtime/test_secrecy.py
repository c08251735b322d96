"""The token reaches git only through the credential helper, for the repository's host only, and nowhere else."""

from __future__ import annotations

import base64
import re
import subprocess
import time
from pathlib import Path

import pytest

from runtime.process_watch import ProcessWatch
from runtime.workspace_pod import CREDENTIAL_HELPER, INIT_SCRIPT, Pod, Shell
from support.tokens import random_text


def files_containing(root: Path, needles: list[bytes]) -> list[Path]:
    """Every file below root (the clone's .git included) whose bytes hold one of the needles."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            content = path.read_bytes()
            if any(needle in content for needle in needles):
                found.append(path)
    return found


TRACING = re.compile(r"^\s*set\s+(-\w*x|-o\s+xtrace)", re.MULTILINE)


def secret_forms(token: str) -> list[bytes]:
    """The token as it is, and as it travels in an HTTP Basic header."""
    return [token.encode(), base64.b64encode(f"x-access-token:{token}".encode())]


def test_the_token_is_never_in_output_files_or_any_process_command_line(pod: Pod, git_token: str) -> None:
    needles = secret_forms(git_token)
    with ProcessWatch(needles) as watch:
        # Hold the object transfer a moment: the watch then surely samples git while it holds the token.
        with pod.server.fetches_held() as fetch_waiting:
            process = pod.start()
            assert fetch_waiting.wait(timeout=30)
            time.sleep(0.3)
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stdout + stderr
        pod.upstream.commit({"later.txt": "later\n"}, "Later")
        pulled = pod.boot(pull="enabled")

    assert watch.sightings == []
    assert watch.saw_command("git"), f"the watch never saw git run: {sorted(watch.commands)}"
    assert watch.started > 10
    for output in (stdout, stderr, pulled.stdout, pulled.stderr):
        assert not any(needle.decode() in output for needle in needles)
    assert files_containing(pod.home, needles) == []
    assert git_token not in (pod.workspace / ".git" / "config").read_text()
    # ...and yet the token was used: the server let git in with it, on both starts.
    fetches = [request for request in pod.server.requests() if request.is_fetch and request.authorized]
    assert len(fetches) >= 2


def test_the_scripts_survive_flux_substitution_and_never_trace() -> None:
    for script in (INIT_SCRIPT, CREDENTIAL_HELPER):
        text = script.read_text()
        assert "${" not in text, f"{script.name} has a brace expansion Flux would substitute"
        assert not TRACING.search(text), f"{script.name} turns on tracing, which would print what git is given"
        assert text.startswith("#!/bin/sh\n")


# -------------------------------------------------------------------------------------- the credential helper

REPOSITORY = "https://GitHub.com/jbaker48/k8s-cluster.git"


@pytest.fixture
def token_file(case_dir: Path) -> tuple[Path, str]:
    token = random_text("ghp_")
    path = case_dir / "GITHUB_TOKEN"
    path.write_bytes(token.encode() + b"\r\n")  # as pasted into a Secret, line ending and all
    return path, token


def ask_helper(
    shell: Shell, token_file: Path, request: str, *, action: str = "get", repository: str = REPOSITORY
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*shell.command, str(CREDENTIAL_HELPER), action],
        input=request,
        env={"PATH": shell.path, "GIT_TOKEN_FILE": str(token_file), "WORKSPACE_GIT_REPOSITORY": repository},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    "request_text",
    [
        "protocol=https\nhost=github.com\n",
        "protocol=https\nhost=GITHUB.COM\npath=jbaker48/k8s-cluster.git\n",
        'capability[]=authtype\nprotocol=https\nhost=github.com\nwwwauth[]=Basic realm="GitHub"\n\n',
    ],
    ids=["plain", "case-and-path", "newer-git-fields"],
)
def test_the_helper_answers_for_the_repository_host(
    shell: Shell, token_file: tuple[Path, str], request_text: str
) -> None:
    path, token = token_file

    answer = ask_helper(shell, path, request_text)

    assert answer.returncode == 0
    assert answer.stdout == f"username=x-access-token\npassword={token}\n"
    assert answer.stderr == ""


@pytest.mark.parametrize(
    "request_text",
    [
        "protocol=https\nhost=gitlab.com\n",
        "protocol=https\nhost=github.com.attacker.example\n",
        "protocol=https\nhost=github.com:8443\n",
        "protocol=http\nhost=github.com\n",
        "host=github.com\n",
        "protocol=https\nhost=attacker.example\npath=github.com\n",
        "",
    ],
    ids=["other-host", "suffix-host", "other-port", "plain-http", "no-protocol", "host-in-path", "empty"],
)
def test_the_helper_refuses_every_other_host(shell: Shell, token_file: tuple[Path, str], request_text: str) -> None:
    path, _token = token_file

    answer = ask_helper(shell, path, request_text)

    assert answer.returncode == 0
    assert answer.stdout == ""


def test_the_helper_matches_the_port_of_the_repository_url(shell: Shell, token_file: tuple[Path, str]) -> None:
    path, token = token_file
    repository = "https://git.example.org:8443/team/repo.git"

    with_port = ask_helper(shell, path, "protocol=https\nhost=git.example.org:8443\n", repository=repository)
    without_port = ask_helper(shell, path, "protocol=https\nhost=git.example.org\n", repository=repository)

    assert with_port.stdout == f"username=x-access-token\npassword={token}\n"
    assert without_port.stdout == ""


@pytest.mark.parametrize("action", ["store", "erase"])
def test_the_helper_never_stores_or_erases_anything(shell: Shell, token_file: tuple[Path, str], action: str) -> None:
    path, token = token_file
    request = f"protocol=https\nhost=github.com\nusername=x-access-token\npassword={token}\n"

    answer = ask_helper(shell, path, request, action=action)

    assert answer.returncode == 0
    assert answer.stdout == ""
    assert path.read_bytes() == token.encode() + b"\r\n"


def test_the_helper_says_nothing_without_a_token(shell: Shell, case_dir: Path) -> None:
    empty = case_dir / "EMPTY_TOKEN"
    empty.write_text("")

    answer = ask_helper(shell, empty, "protocol=https\nhost=github.com\n")
    missing = ask_helper(shell, case_dir / "NO_SUCH_FILE", "protocol=https\nhost=github.com\n")

    assert (answer.returncode, answer.stdout) == (0, "")
    assert (missing.returncode, missing.stdout) == (0, "")


def test_the_helper_never_answers_for_a_repository_url_with_credentials(
    shell: Shell, token_file: tuple[Path, str]
) -> None:
    path, _token = token_file

    answer = ask_helper(
        shell, path, "protocol=https\nhost=github.com\n", repository="https://someone@github.com/jbaker48/x.git"
    )

    assert answer.stdout == ""
