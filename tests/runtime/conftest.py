"""Fixtures that run the workspace init step the way the pod does, with real git against a token-guarded server.

`pod` gives a fresh workspace volume, the mounted Secret's files and the scripts (mode 0555, as the ConfigMap
mounts them), and runs `init.sh` with exactly the environment the init container gets. When the tests run as root,
the step runs as uid/gid 1000, like the pod (`runAsUser: 1000`), so that file permissions mean what they mean there.
The step runs under dash, the workspace image's /bin/sh, with this machine's git, jq and coreutils
(`make test-prerequisites` installs dash and jq).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.workspace_pod import Pod, Shell, Upstream
from support.git_http_server import GitHttpServer, TlsFiles, make_self_signed_certificate
from support.image import workspace_image  # noqa: F401 - the session fixture
from support.prerequisites import require_command
from support.tokens import random_text


@pytest.fixture(scope="session")
def world_dir() -> Iterator[Path]:
    """A scratch directory the pod's uid can traverse (pytest's own tmp_path is private to the test runner)."""
    path = Path(tempfile.mkdtemp(prefix="ocw-runtime-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_files(world_dir: Path) -> TlsFiles:
    return make_self_signed_certificate(world_dir / "tls")


@pytest.fixture
def shell() -> Shell:
    """The workspace image's /bin/sh is dash, as is this machine's."""
    require_command("dash", package="dash", purpose="the init step runs under it as in the workspace image")
    require_command("jq", package="jq", purpose="the init step checks and merges the Copilot login with it")
    found = Shell.dash()
    assert found, "dash is on PATH, so its Shell exists"
    return found


@pytest.fixture
def case_dir(world_dir: Path) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="case-", dir=world_dir))
    path.chmod(0o755)
    yield path
    # A test may have made the volume read-only for a non-root runner: give it back before removing it.
    for root, dirs, _files in os.walk(path):
        for name in dirs:
            candidate = Path(root) / name
            if not candidate.is_symlink():
                candidate.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def git_token() -> str:
    return random_text("ghp_")


@pytest.fixture
def git_server(case_dir: Path, tls_files: TlsFiles, git_token: str) -> Iterator[GitHttpServer]:
    root = case_dir / "server"
    root.mkdir()
    with GitHttpServer(root, token=git_token, tls=tls_files) as server:
        yield server


@pytest.fixture
def upstream(git_server: GitHttpServer, case_dir: Path) -> Upstream:
    return Upstream(git_server, case_dir / "author")


@pytest.fixture
def pod(case_dir: Path, shell: Shell, upstream: Upstream, tls_files: TlsFiles, git_token: str) -> Pod:
    return Pod(case_dir / "pod", shell=shell, upstream=upstream, ca_file=tls_files.certificate, token=git_token)
