"""The tree as Flux renders it (real `kubectl kustomize` and Flux's substitution, through ocw's own loader): a
workspace's monitoring objects exactly as the cluster receives them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocw.flux.build import Manifest
from ocw.tree import load_tree

REPO = Path(__file__).resolve().parents[2]


def rendered(repo: Path = REPO) -> list[Manifest]:
    return list(load_tree(repo).manifests())


def workspace_object(manifests: list[Manifest], kind: str, app: str) -> dict[str, Any]:
    """The one object of `kind` the workspace app builds."""
    found = [m.obj for m in manifests if m.kind == kind and m.kustomization == app]
    assert len(found) == 1, f"expected one {kind} built by {app}, found {len(found)}"
    return found[0]
