"""What ocw keeps on this machine stays the user's: the password file is read only when it is a regular file of the
user's (a link planted there, a FIFO or another user's file is refused before anything starts); the cleanup of a
folder the pod writes to never changes a mode through a link. (That a started workspace's state dir, folder and
password file are 0700/0600 is asserted on the start test_up_local_defaults.py's foreground test makes.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import CliResult, run_ocw, user_env
from support.local_workspace import WORKSPACE
from support.ports import free_port
from up.helpers import REPO

pytestmark = pytest.mark.timeout(300)

OTHER_UID = 1000  # any user but the runner: the pod's uid, as a local user of the machine may have


def _up(state: Path, source: Path) -> CliResult:
    args = ["up", "flux", "-d", "--engine", "process", "--source", str(source), "--port", str(free_port())]
    return run_ocw(*args, "--state-dir", str(state), env=user_env())


@pytest.mark.parametrize("kind", ["link", "fifo", "another user's"])
def test_a_password_file_that_is_not_the_users_own_is_refused_before_anything_starts(kind: str, tmp_path: Path) -> None:
    if kind == "another user's" and os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    state = tmp_path / "state"
    password = state / WORKSPACE / "password"
    password.parent.mkdir(parents=True)
    secret = tmp_path / "someone-elses-secret"
    secret.write_text("not-for-the-workspace-0123456789")
    if kind == "link":
        password.symlink_to(secret)  # what a local user who could write there plants
    elif kind == "fifo":
        os.mkfifo(password)
    else:
        password.write_text("not-for-the-workspace-0123456789")
        os.chown(password, OTHER_UID, OTHER_UID)

    started = time.monotonic()
    result = _up(state, REPO)

    assert result.code == 2, result.stdout + result.stderr
    assert time.monotonic() - started < 60  # a FIFO does not hold it
    assert f"the password file {password} is" in result.stderr
    assert "not-for-the-workspace" not in result.stdout + result.stderr
    assert not (state / WORKSPACE / "run").exists() and not (state / WORKSPACE / "state.json").exists()


CLEANUP = """
import sys
from pathlib import Path
from ocw.up.volumes import remove_tree
remove_tree(Path(sys.argv[1]))
"""


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A scratch folder another user can enter (pytest's own is private to the runner)."""
    path = Path(tempfile.mkdtemp(prefix="ocw-cleanup-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["chmod", "-R", "u+rwx", str(path)], check=False)
    shutil.rmtree(path, ignore_errors=True)


def test_the_cleanup_of_a_pod_folder_never_changes_a_mode_through_a_link(shared_tmp: Path) -> None:
    """The pod's /tmp (an emptyDir) is the agent's to fill: a read-only folder holding a link to the user's own private
    file must go without that file's mode changing, when ocw runs as that user."""
    tmp_path = shared_tmp
    as_root = os.geteuid() == 0  # then the cleanup runs as another user, as a non-root ocw would
    owner = OTHER_UID if as_root else os.geteuid()
    private = tmp_path / "home" / "id_ed25519"
    emptydir = tmp_path / "state" / "volumes" / "tmp"
    trap = emptydir / "readonly"
    for folder in (private.parent, trap):
        folder.mkdir(parents=True)
    private.write_text("key\n")
    private.chmod(0o600)
    (trap / "link").symlink_to(private)
    for path in (tmp_path, private.parent, private, tmp_path / "state", emptydir.parent, emptydir, trap, trap / "link"):
        os.lchown(path, owner, owner)
    trap.chmod(0o500)  # rmtree cannot unlink the link until the folder is opened up

    # The other user cannot enter root's home, where the venv's interpreter may live: the system's runs the same code.
    python = "/usr/bin/python3" if as_root and Path("/usr/bin/python3").is_file() else sys.executable
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [python, "-c", CLEANUP, str(emptydir)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd="/",
        user=OTHER_UID if as_root else None,
        group=OTHER_UID if as_root else None,
        extra_groups=[] if as_root else None,
    )

    assert done.returncode == 0, done.stderr
    assert not emptydir.exists()
    assert private.read_text() == "key\n"
    assert private.stat().st_mode & 0o777 == 0o600  # never made 0700 through the link
