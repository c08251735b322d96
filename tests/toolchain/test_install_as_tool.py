"""ocw installed from its wheel, as `uv tool install` or `pipx install` would, and run outside the checkout: no
`tools/`, no schemas beside it, no network. `ocw check` must still pass, validating with the schemas that ship inside
the package; kubectl comes from PATH.

The wheel is built from a copy of the sources (the checkout is never written) and installed into a fresh venv.
Its dependencies come from the development venv, through a `.pth` line, rather than being downloaded again: what this
test proves is what the wheel itself carries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from check.tree_copy import TreeCopy

REPO = Path(__file__).resolve().parents[2]
# What a `pip install git+URL` builds from (setup.py puts the GitOps tree into the wheel).
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "src", "kubernetes")


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd, env=env, timeout=300)


def build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(REPO / name, source / name)
    wheels = tmp_path / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)], cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("opencode_workspaces-*.whl")
    return wheel


def install(wheel: Path, target: Path) -> Path:
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
    return python


def test_the_installed_tool_checks_a_tree_offline_with_its_own_schemas(
    tree: TreeCopy, tmp_path: Path, real_kubectl: Path
) -> None:
    python = install(build_wheel(tmp_path), tmp_path / "tool")
    ocw = tmp_path / "tool" / "bin" / "ocw"
    elsewhere = tmp_path / "elsewhere"  # a working directory with no tools/ and nothing beside it
    path = tmp_path / "path"
    for directory in (elsewhere, path):
        directory.mkdir()
    (path / "kubectl").symlink_to(real_kubectl)
    env = {k: v for k, v in os.environ.items() if k not in {"OCW_TOOLS_DIR", "PYTHONPATH"}}
    env["PATH"] = str(path)

    where = run([str(python), "-c", "import ocw; print(ocw.__file__)"], cwd=elsewhere, env=env)
    package = Path(where.stdout.strip()).parent
    assert package.is_relative_to(tmp_path / "tool"), f"ocw imported from {package}, not the installed wheel"

    result = run([str(ocw), "check", "--repo", str(tree.root), "--json"], cwd=elsewhere, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["summary"]["errors"] == 0 and document["summary"]["warnings"] == 0, document["findings"]
    assert document["summary"]["objects_validated"] > 20
    assert f"{package / 'data' / 'schemas'} (vendored)" in document["summary"]["schemas"]
    assert f"with kubectl kustomize (kubectl on PATH ({path / 'kubectl'})" in result.stderr

    layers = run([str(ocw), "schemas", "where", "--json"], cwd=elsewhere, env=env)
    vendored = next(layer["path"] for layer in json.loads(layers.stdout) if layer["layer"] == "vendored")
    assert (Path(vendored) / "crds" / "LICENSE").is_file()
    assert (Path(vendored) / "app-template-common-4.1.1" / "LICENSE").is_file()
    assert (Path(vendored) / "README.md").is_file()
