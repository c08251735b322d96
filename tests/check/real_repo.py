"""Extracts of real public cluster repositories (tests/fixtures/<repo>, each with its licence and origin), copied to a
temporary directory and, when asked, with this project's tree installed by `ocw install`'s library entry point."""

from __future__ import annotations

import shutil
from pathlib import Path

from check.tree_copy import REPO
from ocw.install.apply import install

FIXTURES = REPO / "tests" / "fixtures"
CLUSTER = FIXTURES / "jbaker48-k8s-cluster"


def copy_cluster(destination: Path) -> Path:
    shutil.copytree(CLUSTER, destination)
    return destination


def install_tree(root: Path) -> None:
    """The tree, the certificate and the listener patch, written as `ocw install` writes them."""
    install(root)
