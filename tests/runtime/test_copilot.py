"""Copilot auth: seeded from the Secret when absent or when the Secret changed; otherwise OpenCode's file is left
alone, so a login done inside the workspace survives restarts. A bad Secret value never stops the workspace."""

from __future__ import annotations

import json
import os
import stat

import pytest

from runtime.workspace_pod import Pod, copilot_auth_document
from support.tokens import random_text


def secret_tokens(document: str) -> list[str]:
    return [word.strip('",') for word in document.split() if word.strip('",').startswith("gho_")]


def assert_private_file(pod: Pod) -> None:
    info = pod.auth_file.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == pod.identity.uid
    assert stat.S_IMODE(pod.auth_file.parent.stat().st_mode) == 0o700
    # Nothing half-written is left beside it: only OpenCode's file and, at most, the copy kept before a re-seed.
    assert {path.name for path in pod.auth_file.parent.iterdir()} <= {"auth.json", "auth.json.before-seed"}


def test_an_absent_auth_file_is_seeded_from_the_secret(pod: Pod) -> None:
    document = copilot_auth_document()
    pod.set_copilot_auth(document)

    result = pod.boot()

    assert pod.auth_file.read_text() == document
    assert_private_file(pod)
    assert "Copilot auth seeded" in result.stdout
    assert "(there was none)" in result.stdout
    assert not any(token in result.output for token in secret_tokens(document))


def test_a_login_done_in_the_workspace_survives_restarts_while_the_secret_is_unchanged(pod: Pod) -> None:
    pod.boot()
    login_in_pod = copilot_auth_document()
    pod.write_file(pod.auth_file, login_in_pod)

    results = [pod.boot() for _ in range(2)]

    assert pod.auth_file.read_text() == login_in_pod
    assert "the Secret has not changed since it was seeded" in results[-1].stdout
    assert not (pod.auth_file.parent / "auth.json.before-seed").exists()


def test_a_changed_secret_replaces_the_file_and_keeps_the_one_changed_in_the_workspace(pod: Pod) -> None:
    pod.boot()
    login_in_pod = copilot_auth_document()
    pod.write_file(pod.auth_file, login_in_pod)
    reseeded = copilot_auth_document()
    pod.set_copilot_auth(reseeded)

    result = pod.boot()

    assert pod.auth_file.read_text() == reseeded
    assert_private_file(pod)
    assert "the Secret changed since the last seed" in result.stdout
    kept = pod.auth_file.parent / "auth.json.before-seed"
    assert kept.read_text() == login_in_pod
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert str(kept) in result.stdout

    # ...and from then on the new Secret counts as seeded.
    again = pod.boot()
    assert "the Secret has not changed since it was seeded" in again.stdout


def test_a_changed_secret_replaces_an_untouched_file_without_keeping_a_copy(pod: Pod) -> None:
    pod.boot()
    reseeded = copilot_auth_document()
    pod.set_copilot_auth(reseeded)

    pod.boot()

    assert pod.auth_file.read_text() == reseeded
    assert not (pod.auth_file.parent / "auth.json.before-seed").exists()


def test_a_deleted_auth_file_is_seeded_again(pod: Pod) -> None:
    pod.boot()
    seeded = pod.auth_file.read_text()
    pod.auth_file.unlink()

    result = pod.boot()

    assert pod.auth_file.read_text() == seeded
    assert "Copilot auth seeded" in result.stdout


UNUSABLE = {
    "empty": ("", "is empty"),
    "whitespace": ("  \n", "is not a JSON object"),
    "bare-token": ("gho_" + "x" * 36 + "\n", "is not valid JSON"),
    "cut-short": ('{"github-copilot": {"type": "oauth", "refresh": "gho_abc"', "is not valid JSON"),
    "trailing-text": ('{"github-copilot": {"type": "oauth", "refresh": "gho_abc"}} }', "is not valid JSON"),
    "two-documents": ('{"github-copilot": {"type": "oauth", "refresh": "gho_abc"}} {}', "is not a JSON object"),
    "trailing-comma": ('{"github-copilot": {"type": "oauth", "refresh": "gho_abc",}}', "is not valid JSON"),
    "other-provider": ('{"anthropic": {"type": "api", "key": "sk-ant-abc"}}', 'has no "github-copilot" entry'),
    "no-refresh": ('{"github-copilot": {"type": "oauth", "access": "gho_abc"}}', 'without a "refresh" token'),
    "not-oauth": ('{"github-copilot": {"type": "api", "refresh": "gho_abc"}}', 'whose "type" is not "oauth"'),
}


@pytest.mark.parametrize(("document", "reason"), list(UNUSABLE.values()), ids=list(UNUSABLE))
def test_an_unusable_secret_value_does_not_stop_the_workspace(pod: Pod, document: str, reason: str) -> None:
    pod.set_copilot_auth(document)

    result = pod.run()

    assert result.returncode == 0, result.describe()
    assert pod.git("rev-parse", "HEAD") == pod.upstream.head()
    [line] = [line for line in result.stdout.splitlines() if "Copilot not seeded" in line]
    assert reason in line
    assert "scripts/seed-copilot-auth.sh" in line
    assert not pod.auth_file.exists()
    assert "gho_abc" not in result.output
    assert "sk-ant-abc" not in result.output


def test_an_unusable_new_secret_value_leaves_the_seeded_file_alone(pod: Pod) -> None:
    pod.boot()
    seeded = pod.auth_file.read_text()
    pod.set_copilot_auth('{"github-copilot": ')

    result = pod.boot()

    assert pod.auth_file.read_text() == seeded
    assert "Copilot not seeded" in result.stdout
    assert "left as it is" in result.stdout


def test_a_secret_without_the_copilot_key_is_reported_and_the_workspace_starts(pod: Pod) -> None:
    result = pod.run(env={"COPILOT_AUTH_FILE": str(pod.secret_dir / "NOT_MOUNTED")})

    assert result.returncode == 0, result.describe()
    assert "Copilot not seeded" in result.stdout
    assert "does not exist" in result.stdout
    assert not pod.auth_file.exists()


def test_the_seeded_tokens_never_reach_the_output(pod: Pod) -> None:
    refresh, access = random_text("gho_"), random_text("gho_")
    pod.set_copilot_auth(copilot_auth_document(refresh, access))

    first = pod.boot()
    pod.set_copilot_auth(copilot_auth_document(refresh, random_text("gho_")))
    second = pod.boot()

    for result in (first, second):
        assert "Copilot auth" in result.output, result.describe()  # the step reported on the login it handled
        assert refresh not in result.output
        assert access not in result.output


def test_a_reseed_replaces_only_the_copilot_entry_and_keeps_other_providers(pod: Pod) -> None:
    pod.boot()
    seeded = json.loads(pod.auth_file.read_text())
    other = {"type": "api", "key": random_text("sk-ant-")}
    pod.write_file(pod.auth_file, json.dumps({**seeded, "anthropic": other}))
    reseeded = copilot_auth_document()
    pod.set_copilot_auth(reseeded)

    result = pod.boot()

    merged = json.loads(pod.auth_file.read_text())
    assert merged == {"github-copilot": json.loads(reseeded)["github-copilot"], "anthropic": other}
    assert_private_file(pod)
    assert "other providers in it are kept" in result.stdout
    assert other["key"] not in result.output
    # The merged file counts as what was seeded: the next start leaves it alone.
    assert "the Secret has not changed since it was seeded" in pod.boot().stdout


@pytest.mark.parametrize("kind", ["directory", "symlink"])
def test_an_auth_file_that_is_not_a_regular_file_is_refused_and_left_alone(pod: Pod, kind: str) -> None:
    if kind == "directory":
        pod.make_dir(pod.auth_file)
    else:
        pod.make_dir(pod.auth_file.parent)
        pod.auth_file.symlink_to(pod.token_file)

    result = pod.run()

    assert result.returncode == 0, result.describe()
    assert "Copilot not seeded" in result.stderr
    assert "is not a regular file" in result.stderr
    assert "Copilot auth seeded" not in result.output
    if kind == "directory":
        assert list(pod.auth_file.iterdir()) == []
    else:
        assert pod.auth_file.is_symlink()
    assert sorted(path.name for path in pod.auth_file.parent.iterdir()) == ["auth.json"]


def test_a_secret_path_that_is_not_a_regular_file_is_refused_without_waiting(pod: Pod) -> None:
    """The step reads the Secret once, into a private copy that hash, check and write all use; a FIFO there (which
    a Secret mount never is) would hold that read forever, so only a regular file is read."""
    pipe = pod.secret_dir / "COPILOT_AUTH_PIPE"
    os.mkfifo(pipe)
    pod.identity.own(pipe)

    result = pod.run(env={"COPILOT_AUTH_FILE": str(pipe)}, timeout=30)

    assert result.returncode == 0, result.describe()
    assert result.seconds < 20  # not the FIFO's forever, nor a time limit's
    assert f"Copilot not seeded: {pipe} does not exist as a file" in result.stdout
    assert not pod.auth_file.exists()
    with pytest.raises(OSError):  # nobody ever opened it for reading: a writer finds no reader
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
