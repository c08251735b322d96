"""The init step needs only POSIX tools and options (plus git, jq and mktemp): it runs with a PATH of BSD-behaving
tools, as `ocw up` would on the user's Mac, through a first clone, a later start, a pull, a broken clone moved aside
and a Copilot login seeded, kept and changed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from runtime.bsd_tools import build_bsd_path
from runtime.workspace_pod import Pod, Shell, Upstream, copilot_auth_document
from support.git_http_server import TlsFiles


@pytest.fixture
def bsd_pod(case_dir: Path, shell: Shell, upstream: Upstream, tls_files: TlsFiles, git_token: str) -> Pod:
    bsd = Shell("dash with BSD tools", shell.command, build_bsd_path(case_dir / "bsd-bin"))
    return Pod(case_dir / "pod", shell=bsd, upstream=upstream, ca_file=tls_files.certificate, token=git_token)


def test_the_stand_ins_refuse_what_bsd_refuses(bsd_pod: Pod, case_dir: Path) -> None:
    """What the step used to call, and a Mac refuses."""

    def run(command: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": bsd_pod.shell.path}
        argv = [*bsd_pod.shell.command, "-c", command]
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=False)

    assert "illegal option" in run(f"mv -T {case_dir}/a {case_dir}/b").stderr
    assert run("stat -c %u /").returncode == 127
    assert run("date +%s.%N").stdout.strip().endswith(".N")
    assert run("sha256sum /dev/null").returncode == 127 and run("timeout 1 true").returncode == 127


def test_clone_later_start_and_pull_with_bsd_tools(bsd_pod: Pod) -> None:
    first = bsd_pod.boot()
    assert "cloned" in first.stdout and bsd_pod.git("rev-parse", "HEAD") == bsd_pod.upstream.head()
    assert "illegal option" not in first.output and "not found" not in first.output
    assert "present" in bsd_pod.boot().stdout
    new_head = bsd_pod.upstream.commit({"later.txt": "later\n"}, "Later")
    pulled = bsd_pod.boot(pull="enabled")
    assert bsd_pod.git("rev-parse", "HEAD") == new_head, pulled.describe()
    assert "fast-forwarded main by 1 commit(s)" in pulled.stdout
    assert pulled.stdout.rstrip().splitlines()[-1].startswith("init: done in ")


def test_a_broken_clone_is_moved_aside_with_bsd_tools(bsd_pod: Pod) -> None:
    bsd_pod.write_file(bsd_pod.workspace / "notes.txt", "mine\n")

    result = bsd_pod.boot()

    kept = sorted(bsd_pod.workspace.parent.glob(f"{bsd_pod.workspace.name}.before-clone-*"))
    assert len(kept) == 1 and (kept[0] / "notes.txt").read_text() == "mine\n", result.describe()
    assert bsd_pod.git("rev-parse", "HEAD") == bsd_pod.upstream.head()


def test_the_copilot_login_is_seeded_kept_and_renewed_with_bsd_tools(bsd_pod: Pod) -> None:
    assert "Copilot auth seeded" in bsd_pod.boot().stdout
    first = bsd_pod.auth_file.read_text()
    assert "has not changed since it was seeded" in bsd_pod.boot().stdout
    bsd_pod.write_file(bsd_pod.auth_file, first.replace('"expires": 0', '"expires": 1'))  # a login done in here
    renewed = copilot_auth_document()
    bsd_pod.set_copilot_auth(renewed)

    result = bsd_pod.boot()

    seeded = json.loads(bsd_pod.auth_file.read_text())["github-copilot"]
    assert seeded == json.loads(renewed)["github-copilot"], result.describe()
    assert "kept as" in result.stdout and (bsd_pod.auth_file.parent / "auth.json.before-seed").is_file()
