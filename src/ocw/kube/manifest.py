"""One Kubernetes object as ocw reads it: built from the tree by a Flux Kustomization, described by the host
cluster, or rendered by Helm from a HelmRelease. Typed accessors replace `(obj.get("spec") or {})` everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Host objects (src/ocw/data/host-cluster.yaml) carry `host:<app>` as their Kustomization: no tree Kustomization
# owns them.
HOST_KUSTOMIZATION_PREFIX = "host:"


def mapping(value: Any) -> dict[str, Any]:
    """value when it is a mapping, else an empty one: YAML nobody here wrote may hold anything anywhere."""
    return dict(value) if isinstance(value, Mapping) else {}


def mappings(value: Any) -> list[dict[str, Any]]:
    """The mappings of a list, skipping anything else (a list of something other than objects is a schema error)."""
    return [dict(item) for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def strings(value: Any) -> dict[str, str]:
    """A label or annotation map with its keys and values as strings."""
    return {str(k): str(v) for k, v in mapping(value).items()}


@dataclass
class Manifest:
    """One object, with the Flux Kustomization that produced it and the file it came from."""

    obj: dict[str, Any]
    kustomization: str
    file: str
    # The object as kustomize emitted it, before Flux substitution: what the author wrote, `${VAR}`s and all.
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    # For an object a chart rendered: the HelmRelease it came from (its file and Kustomization are the release's).
    rendered_from: Manifest | None = field(default=None, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        return mapping(self.obj.get("metadata"))

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str | None:
        value = self.metadata.get("namespace")
        return None if value is None else str(value)

    @property
    def labels(self) -> dict[str, str]:
        return strings(self.metadata.get("labels"))

    @property
    def annotations(self) -> dict[str, str]:
        return strings(self.metadata.get("annotations"))

    @property
    def spec(self) -> dict[str, Any]:
        return mapping(self.obj.get("spec"))

    @property
    def raw_spec(self) -> dict[str, Any]:
        """The spec as written, before Flux substitution (the substituted one when the raw form is unknown)."""
        return mapping((self.raw or self.obj).get("spec"))

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @property
    def owner(self) -> str | None:
        """The tree's Flux Kustomization that applies the object; None for the host cluster's objects."""
        return None if self.kustomization.startswith(HOST_KUSTOMIZATION_PREFIX) else self.kustomization

    @property
    def label(self) -> str:
        """How findings name the object: its ref, and for a rendered one the HelmRelease it comes from."""
        if self.rendered_from is None:
            return self.ref
        return f"{self.ref} (rendered from {self.rendered_from.ref})"

    def target_refs(self) -> list[dict[str, Any]]:
        """A policy's targets by name: `spec.targetRefs` and the older single `spec.targetRef`."""
        spec = self.spec
        return [*mappings(spec.get("targetRefs")), *([mapping(spec["targetRef"])] if spec.get("targetRef") else [])]

    def target_selectors(self) -> list[dict[str, Any]]:
        return mappings(self.spec.get("targetSelectors"))

    def labels_match(self, selector: Mapping[str, Any]) -> bool:
        """Whether the object's labels hold every `matchLabels` pair."""
        own = self.labels
        return all(own.get(str(k)) == str(v) for k, v in selector.items())
