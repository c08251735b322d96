"""Build step: the wheel carries the GitOps tree (kubernetes/) and the Copilot seed script inside the ocw package, at
ocw/manifests/kubernetes and ocw/manifests/scripts, so that `ocw install` works from an installed tool. The
checkout's files stay the one copy in git; an editable install reads them in place (src/ocw/install/manifests.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
TREE = ROOT / "kubernetes"
SEED_SCRIPT = ROOT / "scripts" / "seed-copilot-auth.sh"  # install puts it into the cluster repository too


class BuildPyWithManifests(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the checkout's own tree is read in place
        manifests = Path(self.build_lib) / "ocw" / "manifests"
        target = manifests / "kubernetes"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(TREE, target)
        (manifests / "scripts").mkdir(exist_ok=True)
        shutil.copy2(SEED_SCRIPT, manifests / "scripts" / SEED_SCRIPT.name)


setup(cmdclass={"build_py": BuildPyWithManifests})
