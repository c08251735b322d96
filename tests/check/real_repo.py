"""Extracts of real public cluster repositories (tests/fixtures/<repo>, each with its licence and origin), copied to a
temporary directory and, when asked, with this project's tree installed by hand as scripts/README.md describes."""

from __future__ import annotations

import shutil
from pathlib import Path

from check.tree_copy import REPO

FIXTURES = REPO / "tests" / "fixtures"
CLUSTER = FIXTURES / "jbaker48-k8s-cluster"
CERTIFICATES_APP = "kubernetes/apps/network/certificates/app"
ENVOY_APP = "kubernetes/apps/network/envoy-gateway/app"
LISTENER_PATCH = """patches:
  - path: ./opencode-listener.yaml
    target:
      group: gateway.networking.k8s.io
      kind: Gateway
      name: envoy-internal
"""


def copy_cluster(destination: Path) -> Path:
    shutil.copytree(CLUSTER, destination)
    return destination


def install_tree(root: Path) -> None:
    """Steps 1 and 2 of scripts/README.md: copy the folders, add the certificate and the listener patch."""
    shutil.copytree(REPO / "kubernetes/apps/opencode", root / "kubernetes/apps/opencode")
    shutil.copytree(
        REPO / "kubernetes/components/opencode-workspace", root / "kubernetes/components/opencode-workspace"
    )
    shutil.copy(REPO / CERTIFICATES_APP / "opencode.yaml", root / CERTIFICATES_APP / "opencode.yaml")
    _append(root / CERTIFICATES_APP / "kustomization.yaml", "  - ./opencode.yaml\n")
    shutil.copy(REPO / ENVOY_APP / "opencode-listener.yaml", root / ENVOY_APP / "opencode-listener.yaml")
    _append(root / ENVOY_APP / "kustomization.yaml", LISTENER_PATCH)


def _append(path: Path, text: str) -> None:
    content = path.read_text()
    assert content.endswith("\n"), f"{path} must end with a newline to be extended"
    path.write_text(content + text)
