"""The API the cluster will serve, as far as the check needs it: each kind's scope, and the custom resource
definitions the repository provides itself.

`RepositoryCRDs` is the one place where "CRDs the repository provides" are collected: the CustomResourceDefinition
objects its Flux graph creates, then the CRDs its charts render. For its kinds a CRD of the repository wins over the
vendored and cached schemas and over the scope table: it is what the cluster will run.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from ocw.paths import DATA_DIR
from ocw.yamlio import load_all_strict

Scope = Literal["Cluster", "Namespaced"]
SCOPE_TABLE = DATA_DIR / "cluster-scoped-kinds.yaml"


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


@dataclass
class CRD:
    group: str
    kind: str
    scope: Scope
    file: str
    # served version name -> its openAPIV3Schema, as written
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)


class RepositoryCRDs:
    def __init__(self) -> None:
        self._crds: dict[tuple[str, str], CRD] = {}
        self._lock = threading.Lock()  # charts render in parallel

    def add(self, obj: Mapping[str, Any], file: str) -> None:
        """Record a CustomResourceDefinition object (anything else is ignored)."""
        if obj.get("kind") != "CustomResourceDefinition" or not group_of(str(obj.get("apiVersion", ""))).startswith(
            "apiextensions.k8s.io"
        ):
            return
        spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else None
        names = spec.get("names") if spec is not None and isinstance(spec.get("names"), Mapping) else None
        if spec is None or names is None or not spec.get("group") or not names.get("kind"):
            return
        scope: Scope = "Cluster" if spec.get("scope") == "Cluster" else "Namespaced"
        crd = CRD(str(spec["group"]), str(names["kind"]), scope, file)
        for version in spec.get("versions") or []:
            schema = (
                ((version or {}).get("schema") or {}).get("openAPIV3Schema") if isinstance(version, Mapping) else None
            )
            if isinstance(schema, Mapping) and version.get("name") and version.get("served", True) is not False:
                crd.schemas[str(version["name"])] = dict(schema)
        with self._lock:
            self._crds.setdefault((crd.group, crd.kind), crd)

    def get(self, group: str, kind: str) -> CRD | None:
        return self._crds.get((group, kind))

    def __len__(self) -> int:
        return len(self._crds)

    def schema(self, group: str, kind: str, version: str) -> dict[str, Any] | None:
        """The openAPIV3Schema of a version the repository's CRD serves, as written; None when the repository has no
        CRD for the kind or the CRD does not serve that version."""
        crd = self.get(group, kind)
        return None if crd is None else crd.schemas.get(version)

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        """Whether objects of the kind live in a namespace: anything not known to be cluster-scoped does."""
        return scope_of(api_version, kind, self) != "Cluster"


@cache
def _scope_table() -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    [document] = load_all_strict(SCOPE_TABLE.read_text())
    builtin = document.get("builtin") or {}
    custom = document.get("custom") or {}
    cluster = {
        (str(group), str(kind)) for table in (builtin, custom) for group, kinds in table.items() for kind in kinds or []
    }
    return frozenset(str(group) for group in builtin), frozenset(cluster)


def is_builtin_group(group: str) -> bool:
    """A Kubernetes API group (core, apps, batch, networking.k8s.io, ...), as opposed to a custom resource's."""
    return group in _scope_table()[0]


def scope_of(api_version: str, kind: str, crds: RepositoryCRDs | None = None) -> Scope | None:
    """Cluster or Namespaced, from the repository's CRD, else the Kubernetes API groups and the table of known
    cluster-scoped custom kinds; None when nothing says (a custom kind the repository does not define)."""
    group = group_of(api_version)
    builtin_groups, cluster = _scope_table()
    if group in builtin_groups:
        return "Cluster" if (group, kind) in cluster else "Namespaced"
    crd = crds.get(group, kind) if crds is not None else None
    if crd is not None:
        return crd.scope
    if (group, kind) in cluster:
        return "Cluster"
    return None
