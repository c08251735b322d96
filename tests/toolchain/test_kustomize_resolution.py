"""Which kustomize `ocw check` builds with when the pinned kubectl is absent or cannot run: kubectl on PATH, else a
standalone `kustomize build`; too old a version is refused with the found and required versions named.

The real kustomize runs in every passing case: PATH holds the pinned kubectl under the name kubectl, or a standalone
`kustomize` front-end that hands `build` to it (and the pinned helm, which renders the HelmReleases). The old versions
are fakes that only print a version (stand-ins for "an old kubectl"): they are refused before anything is built with
them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from check.tree_copy import TreeCopy
from ocw.install.host import HOST_DESCRIPTION
from ocw.tool_versions import cannot_run_here

OLD_KUBECTL: dict[str, object] = {"clientVersion": {"gitVersion": "v1.25.16"}, "kustomizeVersion": "v4.5.7"}
VERY_OLD_KUBECTL: dict[str, object] = {
    "clientVersion": {"gitVersion": "v1.23.17"}
}  # before 1.24 kubectl does not name its kustomize


def bin_dir(tmp_path: Path, name: str, scripts: dict[str, str], links: dict[str, Path] | None = None) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    for command, body in scripts.items():
        (directory / command).write_text(f"#!/bin/sh\n{body}\n")
        (directory / command).chmod(0o755)
    for command, target in (links or {}).items():
        (directory / command).symlink_to(target)
    return directory


def standalone_kustomize(real_kubectl: Path) -> str:
    """A `kustomize` that answers `version` like kustomize v5 and builds with the real kustomize inside kubectl."""
    embedded = json.loads(
        subprocess.run([real_kubectl, "version", "--client", "-o", "json"], capture_output=True, check=True).stdout
    )["kustomizeVersion"]
    return (
        'case "$1" in\n'
        f"  version) echo {embedded} ;;\n"
        f'  build) shift; exec {real_kubectl} kustomize "$@" ;;\n'
        '  *) echo "kustomize: unknown command $1" >&2; exit 1 ;;\n'
        "esac"
    )


def fake_kubectl(document: dict[str, object]) -> str:
    return f"echo '{json.dumps(document)}'"


def run(*args: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": str(path)},
        timeout=120,
    )


def test_kubectl_on_path_builds_when_the_pinned_one_is_absent(
    tree: TreeCopy, tmp_path: Path, real_kubectl: Path, real_helm: Path, no_pinned_tools: Path
) -> None:
    path = bin_dir(tmp_path, "kubectl-only", {}, {"kubectl": real_kubectl, "helm": real_helm})
    result = run("ocw", "check", "--repo", str(tree.root), "--host", str(HOST_DESCRIPTION), path=path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"with kubectl kustomize (kubectl on PATH ({path / 'kubectl'})" in result.stderr
    assert "ok: 0 error(s)" in result.stdout


def test_a_standalone_kustomize_alone_is_enough(
    tree: TreeCopy, tmp_path: Path, real_kubectl: Path, real_helm: Path, no_pinned_tools: Path
) -> None:
    path = bin_dir(tmp_path, "kustomize-only", {"kustomize": standalone_kustomize(real_kubectl)}, {"helm": real_helm})
    result = run("ocw", "check", "--repo", str(tree.root), "--host", str(HOST_DESCRIPTION), path=path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"with kustomize build (kustomize on PATH ({path / 'kustomize'}), kustomize v5." in result.stderr


def test_a_too_old_kubectl_is_refused_naming_both_versions(
    tree: TreeCopy, tmp_path: Path, no_pinned_tools: Path
) -> None:
    path = bin_dir(tmp_path, "old", {"kubectl": fake_kubectl(OLD_KUBECTL)})
    result = run("ocw", "check", "--repo", str(tree.root), "--host", str(HOST_DESCRIPTION), path=path)
    assert result.returncode == 2
    assert (
        f"kubectl on PATH ({path / 'kubectl'}): kubectl v1.25.16 embeds kustomize v4.5.7; "
        "required: kubectl >= v1.27.0 (kustomize >= v5.0.0)"
    ) in result.stderr
    assert "kustomize on PATH: not found" in result.stderr
    assert result.stdout == ""  # nothing was checked


def test_a_kubectl_too_old_to_name_its_kustomize_is_refused(tmp_path: Path, no_pinned_tools: Path) -> None:
    path = bin_dir(tmp_path, "very-old", {"kubectl": fake_kubectl(VERY_OLD_KUBECTL)})
    result = run("ocw.toolchain", "which-kustomize", path=path)
    assert result.returncode == 2
    assert "kubectl v1.23.17 embeds kustomize older than v5; required: kubectl >= v1.27.0" in result.stderr


def test_a_too_old_standalone_kustomize_is_refused(tmp_path: Path, no_pinned_tools: Path) -> None:
    # kustomize v4 prints a Go struct rather than a bare version.
    v4 = "echo '{Version:kustomize/v4.5.7 GitCommit:56d82a8378dfc8dc3b3b1085e5a6e67b82966bd7 BuildDate:2022-08-02}'"
    path = bin_dir(tmp_path, "old-kustomize", {"kustomize": v4})
    result = run("ocw.toolchain", "which-kustomize", path=path)
    assert result.returncode == 2
    assert f"kustomize on PATH ({path / 'kustomize'}): kustomize v4.5.7; required: kustomize >= v5.0.0" in result.stderr


def test_an_old_kubectl_gives_way_to_a_new_enough_kustomize(
    tree: TreeCopy, tmp_path: Path, real_kubectl: Path, real_helm: Path, no_pinned_tools: Path
) -> None:
    path = bin_dir(
        tmp_path,
        "mixed",
        {"kubectl": fake_kubectl(OLD_KUBECTL), "kustomize": standalone_kustomize(real_kubectl)},
        {"helm": real_helm},
    )
    result = run("ocw", "check", "--repo", str(tree.root), "--host", str(HOST_DESCRIPTION), path=path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "with kustomize build (kustomize on PATH" in result.stderr


def test_a_pinned_kubectl_for_another_platform_is_passed_over(
    tmp_path: Path, real_kubectl: Path, no_pinned_tools: Path
) -> None:
    # What tools/bin/kubectl is on a Mac: a file this machine cannot execute (here a Mach-O arm64 header).
    pinned = no_pinned_tools / "bin" / "kubectl"
    pinned.parent.mkdir()
    pinned.write_bytes(bytes.fromhex("cffaedfe0c000001") + bytes(64))
    pinned.chmod(0o755)
    assert cannot_run_here(pinned) == "not a Linux x86-64 executable (a copy from another machine?)"
    path = bin_dir(tmp_path, "kubectl-only", {}, {"kubectl": real_kubectl})
    result = run("ocw.toolchain", "which-kustomize", path=path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"kubectl kustomize (kubectl on PATH ({path / 'kubectl'}), kubectl v1.35")


def test_the_pinned_kubectl_comes_first(tmp_path: Path, real_kubectl: Path) -> None:
    assert cannot_run_here(real_kubectl) is None
    path = bin_dir(tmp_path, "old", {"kubectl": fake_kubectl(OLD_KUBECTL)})
    result = run("ocw.toolchain", "which-kustomize", path=path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"kubectl kustomize (pinned kubectl {real_kubectl}, kubectl 1.35)"


def test_a_pinned_kubectl_that_cannot_run_is_named_when_nothing_else_is_found(
    tmp_path: Path, real_kubectl: Path, no_pinned_tools: Path
) -> None:
    pinned = no_pinned_tools / "bin" / "kubectl"
    pinned.parent.mkdir()
    shutil.copy(real_kubectl, pinned)
    pinned.chmod(0o644)
    empty = bin_dir(tmp_path, "empty", {})
    result = run("ocw.toolchain", "which-kustomize", path=empty)
    assert result.returncode == 2
    assert f"pinned kubectl {pinned}: not executable (run `make setup` again)" in result.stderr
