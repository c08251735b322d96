"""ocw's wheel, built from a copy of the sources (the checkout is never written) as `pip install git+URL` builds it,
and installed into a fresh venv as `uv tool install` or `pipx install` would.

The venv gets its dependencies from the development venv, through a `.pth` line, rather than downloading them again:
what a test then proves is what the wheel itself carries."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.run_folder import run_folder

REPO = Path(__file__).resolve().parents[2]
# What the wheel is built from (setup.py puts the GitOps tree into it).
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "src",
    "kubernetes",
    "scripts/seed-copilot-auth.sh",
)


@dataclass(frozen=True)
class InstalledWheel:
    python: Path  # the venv's interpreter
    site: Path  # its site-packages, which holds the installed ocw package

    @property
    def bin(self) -> Path:
        return self.python.parent


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd, env=env, timeout=300)


def build_wheel(workdir: Path) -> Path:
    """The wheel, built in `workdir` (which gets `source/` and `wheels/`)."""
    source = workdir / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    wheels = workdir / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)], cwd=workdir)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("opencode_workspaces-*.whl")
    return wheel


def shared_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once for every worker of this run (the first to take the lock builds it, the others wait and
    find it); each test installs it into a venv of its own."""
    folder = run_folder(tmp_path_factory)
    workdir = folder / "ocw-wheel"
    with (folder / "ocw-wheel.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = sorted(workdir.glob("wheels/opencode_workspaces-*.whl"))
        if built:
            return built[0]
        shutil.rmtree(workdir, ignore_errors=True)  # what a failed build left
        workdir.mkdir()
        return build_wheel(workdir)


def install_wheel(wheel: Path, target: Path) -> InstalledWheel:
    """Install into a new venv through `pip --python`: pip running for that interpreter writes the entry point for
    it, and leaves the running (development) environment alone."""
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=target)
    site = Path(purelib.stdout.strip())
    installed = run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], cwd=target
    )
    assert installed.returncode == 0, installed.stderr
    # Only now, so that pip never saw the development venv (and its editable ocw) as part of this environment.
    (site / "development-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return InstalledWheel(python, site)


def shared_install(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    """The wheel installed once for every worker of this run, for tests that only run the installed ocw (its venv is
    never written after the install): the first to take the lock installs it, the others wait and find it."""
    wheel = shared_wheel(tmp_path_factory)
    folder = run_folder(tmp_path_factory)
    target, done = folder / "ocw-tool", folder / "ocw-tool.json"
    with (folder / "ocw-tool.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            paths = json.loads(done.read_text())
            return InstalledWheel(Path(paths["python"]), Path(paths["site"]))
        shutil.rmtree(target, ignore_errors=True)  # what a failed install left
        installed = install_wheel(wheel, target)
        done.write_text(json.dumps({"python": str(installed.python), "site": str(installed.site)}))
        return installed
