"""ocw installed as a tool (from its wheel, away from any checkout) installs the same tree the checkout holds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from install.conftest import FIXTURE, PROJECT
from ocw.errors import OcwError
from ocw.install.manifests import SEED_SCRIPT, locate
from support.cli import run_ocw, user_env
from support.wheel import install_wheel


def test_the_wheel_carries_the_tree_and_install_reads_it_from_there(tmp_path: Path, ocw_wheel: Path) -> None:
    tool = install_wheel(ocw_wheel, tmp_path / "tool")
    tree = PROJECT / "kubernetes"
    expected = sorted([*(str(p.relative_to(PROJECT)) for p in tree.rglob("*") if p.is_file()), str(SEED_SCRIPT)])
    packaged = tool.site / "ocw" / "manifests"
    assert sorted(str(p.relative_to(packaged)) for p in packaged.rglob("*") if p.is_file()) == expected
    for relative in expected:
        assert (packaged / relative).read_bytes() == (PROJECT / relative).read_bytes(), relative
    assert (packaged / SEED_SCRIPT).stat().st_mode & 0o100, "the seed script stays executable"

    repo = tmp_path / "k8s-cluster"
    shutil.copytree(FIXTURE, repo)
    result = run_ocw(
        "install",
        "--repo",
        str(repo),
        "--dry-run",
        "--json",
        cwd=tmp_path,
        env=user_env(without=["PYTHONPATH"]),
        python=tool.python,
    )
    assert result.code == 0, result.stderr
    assert f"installing from {packaged / 'kubernetes'} into {repo}" in result.stderr
    assert json.loads(result.stdout)["files"]["created"] == expected


def test_without_a_checkout_or_a_packaged_tree_install_says_what_is_missing(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "ocw"
    package.mkdir(parents=True)
    with pytest.raises(OcwError, match="found neither") as raised:
        locate(package)
    assert str(package / "manifests" / "kubernetes") in raised.value.message
    assert raised.value.hint and "reinstall ocw" in raised.value.hint
