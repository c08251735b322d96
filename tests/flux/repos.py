"""Small Flux repositories written for one test: a bootstrap, a few Kustomizations, their folders."""

from __future__ import annotations

from pathlib import Path

GIT_SOURCE = """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: home, namespace: flux-system}
spec:
  interval: 1h
  url: https://github.com/example/home
  ref: {branch: main}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def kustomization(name: str, path: str, *, namespace: str = "flux-system", spec: str = "", meta: str = "") -> str:
    """A Flux Kustomization built from the GitRepository `home` (indent `spec` and `meta` by four spaces)."""
    return f"""---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
    name: {name}
    namespace: {namespace}
{meta}spec:
    interval: 1h
    path: {path}
    prune: true
    sourceRef: {{kind: GitRepository, name: home, namespace: flux-system}}
{spec}"""


def configmap(name: str, data: str = "  key: value\n", namespace: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{ns}\ndata:\n{data}"


def bootstrapped(root: Path, files: dict[str, str]) -> Path:
    """A repository whose bootstrap (kubernetes/flux/config/cluster.yaml) builds kubernetes/flux, which holds the
    root Kustomization `apps` building kubernetes/apps."""
    return write(
        root,
        {
            "kubernetes/flux/config/cluster.yaml": GIT_SOURCE
            + kustomization("cluster", "./kubernetes/flux", spec="    decryption: {provider: sops}\n"),
            "kubernetes/flux/config/kustomization.yaml": "resources: [./cluster.yaml]\n",
            "kubernetes/flux/apps.yaml": kustomization("apps", "./kubernetes/apps"),
            **files,
        },
    )
