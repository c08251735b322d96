"""A home whose OpenCode config folder is as OpenCode leaves it after its first start on a volume.

On a volume's first start OpenCode installs `@opencode-ai/plugin` into `~/.config/opencode` in the background (npm's
arborist, in-process: about 10 CPU-s within seconds of its first answer), and skips it on every later start, once
`node_modules` is there. The pod pays that once per volume; a test that starts a workspace on a fresh volume would pay
it each time, on the same cores as the rest of the run. Tests that are not about a volume's first start therefore
begin from a home seeded with that folder: their OpenCode then spends its CPU on what they test.

The folder is made once per run of the whole suite by the real OpenCode (a start on an empty home, until its install has
written its lock file), in the background from the start of the run, in the folder its workers share; a home started
once it is ready gets a copy. Before then, in a run of a part of the suite, or where OpenCode cannot install it (no
registry), nothing is seeded and OpenCode installs it as on any first start. The folder OpenCode made is kept between
runs, like pip's and npm's caches, under `$XDG_CACHE_HOME/ocw-tests/opencode-config/<OpenCode version>` (OpenCode
installs the plugin of its own version): a later run of the same OpenCode copies it instead of paying the install again.
Delete that folder to make it anew.

The copy's `node_modules` (about 64 MB) is made of hard links to the run's folder: OpenCode only reads it once it is
installed (it neither writes into it nor reinstalls it), and no test writes there, so every home can share the same
files instead of writing its own. The folders are each home's own, and so are the files beside `node_modules`
(`package.json` and the like, which a user or a test may edit in place). `ocw up` in a container gives a volume's
files to the pod's user, the same user for every container workspace: the shared files then belong to it, and every
home's OpenCode can still read them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ocw.paths import user_cache_dir
from ocw.tool_versions import opencode_version
from support.ports import free_port
from support.processes import OPENCODE, opencode_server, stop

CONFIG = Path(".config") / "opencode"
INSTALLED = Path("node_modules") / "@opencode-ai" / "plugin" / "package.json"
INSTALL_TIMEOUT = 240.0
PASSWORD = "seed-" + "x" * 27

READY = "opencode-config"
_run_folder: Path | None = None


def use_run_folder(folder: Path) -> None:
    """Where this run keeps the installed folder (set once per session by the root conftest)."""
    global _run_folder  # noqa: PLW0603 - one per test process, like the session it belongs to
    _run_folder = folder


def seed(home: Path) -> None:
    """Give `home` the installed config folder once it is ready, unless it has one (a volume started before)."""
    target = home / CONFIG
    if _run_folder is None or (target / "node_modules").exists():
        return
    source = _run_folder / READY
    if source.is_dir():  # renamed into place whole
        beside = shutil.ignore_patterns("node_modules")
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True, ignore=beside)
        shutil.copytree(source / "node_modules", target / "node_modules", symlinks=True, copy_function=_link)


def _link(source: str, target: str) -> None:
    """A hard link, or a copy where the home is on another file system than the run's folder."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def start_install(run_folder: Path) -> subprocess.Popen[bytes]:
    """Make the run's installed config folder in the background; stop it with stop_install()."""
    return subprocess.Popen(
        [sys.executable, __file__, str(run_folder)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def stop_install(installer: subprocess.Popen[bytes]) -> None:
    """Ends the installer (and the OpenCode it runs) if it is still at work."""
    stop(installer)


def _kept_folder() -> Path | None:
    """Where the folder this OpenCode installs is kept between runs; None when its version cannot be read."""
    version = opencode_version(OPENCODE)
    # Beside ocw's own cache, not in it: clearing ocw's cache must not cost the next test run an install.
    return user_cache_dir().with_name("ocw-tests") / "opencode-config" / version if version else None


def _link_whole(source: Path, target: Path) -> None:
    """`source` linked file by file to `target` under a temporary name, then renamed: a reader finds all of it or
    nothing. Links, as for every home: nothing writes into an installed folder."""
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, symlinks=True, copy_function=_link)
    try:
        staging.rename(target)
    except OSError:  # another run kept it first
        shutil.rmtree(staging, ignore_errors=True)


def install(run_folder: Path) -> bool:
    """The installed config folder in the run folder: the one kept from an earlier run of this OpenCode, else made
    anew and kept."""
    kept = _kept_folder()
    if kept is not None and kept.is_dir():
        _link_whole(kept, run_folder / READY)
        return True
    made = _install_anew(run_folder)
    if made and kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        _link_whole(run_folder / READY, kept)
    return made


def _install_anew(run_folder: Path) -> bool:
    """Start OpenCode on an empty home until it answers (its first answer starts the install), wait for the install's
    lock file; keep the config folder it made, renamed into place whole. (OpenCode seeds no home here: this process
    has no run folder.)"""
    home = run_folder / "opencode-config-home"
    project = home / "project"
    project.mkdir(parents=True)
    config = home / CONFIG
    deadline = time.monotonic() + INSTALL_TIMEOUT
    try:
        with opencode_server(project, home, free_port(), {"OPENCODE_SERVER_PASSWORD": PASSWORD}):
            while time.monotonic() < deadline:
                if (config / "package-lock.json").is_file() and (config / INSTALLED).is_file():
                    time.sleep(1.0)  # the lock file is the install's last write; let it close
                    staging = run_folder / "opencode-config.partial"
                    shutil.copytree(config, staging, symlinks=True)
                    staging.rename(run_folder / READY)
                    return True
                time.sleep(0.2)
        return False
    except AssertionError:  # OpenCode did not start
        return False
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(1)  # through install()'s finally: its OpenCode is stopped too


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    sys.exit(0 if install(Path(sys.argv[1])) else 1)
