"""ocw installed as a tool (from its wheel, away from any checkout) installs the same tree the checkout holds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from install.conftest import FIXTURE, PROJECT
from ocw.errors import OcwError
from ocw.install.manifests import locate

BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "src", "kubernetes")


def test_the_wheel_carries_the_tree_and_install_reads_it_from_there(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (PROJECT / name).is_dir():
            shutil.copytree(PROJECT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(PROJECT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    tree = PROJECT / "kubernetes"
    expected = sorted(str(p.relative_to(PROJECT)) for p in tree.rglob("*") if p.is_file())
    packaged = site / "ocw" / "manifests"
    assert sorted(str(p.relative_to(packaged)) for p in packaged.rglob("*") if p.is_file()) == expected
    for relative in expected:
        assert (packaged / relative).read_bytes() == (PROJECT / relative).read_bytes(), relative

    repo = tmp_path / "k8s-cluster"
    shutil.copytree(FIXTURE, repo)
    result = subprocess.run(
        [sys.executable, "-m", "ocw", "install", "--repo", str(repo), "--dry-run", "--json"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"installing from {packaged / 'kubernetes'} into {repo}" in result.stderr
    assert json.loads(result.stdout)["files"]["created"] == expected


def test_without_a_checkout_or_a_packaged_tree_install_says_what_is_missing(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "ocw"
    package.mkdir(parents=True)
    with pytest.raises(OcwError, match="found neither") as raised:
        locate(package)
    assert str(package / "manifests" / "kubernetes") in raised.value.message
    assert raised.value.hint and "reinstall ocw" in raised.value.hint
