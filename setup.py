"""Build step: the wheel carries the GitOps tree (kubernetes/) inside the ocw package, at ocw/manifests/kubernetes, so
that `ocw install` works from an installed tool. The checkout's kubernetes/ stays the one copy in git; an editable
install reads it in place (src/ocw/install/manifests.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TREE = Path(__file__).resolve().parent / "kubernetes"


class BuildPyWithManifests(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the checkout's own tree is read in place
        target = Path(self.build_lib) / "ocw" / "manifests" / "kubernetes"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(TREE, target)


setup(cmdclass={"build_py": BuildPyWithManifests})
