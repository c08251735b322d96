"""What a chart sees of the cluster (`.Capabilities`), worked out from the repository alone.

- KubeVersion: `--kubernetes-version` (default 1.35, the cluster's), as MAJOR.MINOR.0.
- APIVersions: Helm's built-in Kubernetes APIs, plus every `group/version` and `group/version/Kind` that the
  repository's and the host cluster's objects use, that their CustomResourceDefinitions (written or rendered) serve,
  and that the schema catalogue (vendored, cached, `--schemas`) holds a CRD schema for. Without them a chart that asks
  (`.Capabilities.APIVersions.Has "gateway.networking.k8s.io/v1/HTTPRoute"`, as app-template does) falls back to an
  older API the cluster may no longer serve.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ocw.apis import RepositoryCRDs
from ocw.errors import OcwError
from ocw.helm.controller import Releases, kinds_of, render_releases
from ocw.helm.render import Capabilities, api_versions
from ocw.kube import DEFAULT_KUBERNETES_VERSION
from ocw.kube.manifest import Manifest
from ocw.schemas.catalog import SchemaCatalog

_KUBE_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


def kube_version(text: str) -> str:
    match = _KUBE_VERSION.match(text.strip())
    if match is None:
        raise OcwError(
            f"the Kubernetes version must be MAJOR.MINOR such as 1.35, found {text!r}",
            hint="pass --kubernetes-version 1.35 (the cluster's version)",
        )
    return f"{match.group(1)}.{match.group(2)}.{match.group(3) or 0}"


def cluster_capabilities(
    manifests: Iterable[Manifest], kubernetes_version: str, catalog: SchemaCatalog | None = None
) -> Capabilities:
    kinds = kinds_of(manifests) | (catalog or SchemaCatalog(None)).served_kinds()
    return Capabilities(kube_version(kubernetes_version), api_versions(kinds))


def render_tree(
    manifests: Sequence[Manifest],
    helmreleases: Sequence[Manifest],
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
    *,
    catalog: SchemaCatalog | None = None,
    crds: RepositoryCRDs | None = None,
) -> Releases:
    """Render HelmReleases of a built tree offline: their chart sources and valuesFrom looked up among the tree's
    objects, the cluster's capabilities worked out from them; the CRDs the charts render join `crds`."""
    index: dict[tuple[str, str, str], Manifest] = {}
    for manifest in manifests:
        index.setdefault((manifest.kind, manifest.namespace or "", manifest.name), manifest)

    def lookup(kind: str, namespace: str | None, name: str) -> Manifest | None:
        return index.get((kind, namespace or "", name))

    capabilities = cluster_capabilities(manifests, kubernetes_version, catalog)
    return render_releases(helmreleases, lookup, capabilities, crds if crds is not None else RepositoryCRDs())
