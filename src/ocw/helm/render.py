"""`helm template` of HelmReleases, as helm-controller would install them, with a cache of what it rendered.

One render runs `helm template <release> <chart> --namespace <ns> -f <values> --kube-version <v> --api-versions ...
--include-crds --skip-tests --skip-schema-validation`, then does what helm-controller's post-renderers do, in their
order: each `spec.postRenderers[].kustomize` (its `patches` and `images`, applied by a real kustomize build of the
rendered objects), the HelmRelease's `commonMetadata` labels and annotations, and its origin labels
(`helm.toolkit.fluxcd.io/name`, `.../namespace`) on every object; last, the release namespace on namespaced objects
that name none (Helm applies them there), and no namespace on cluster-scoped ones. The CRDs charts render join the
repository's (`ocw.apis.RepositoryCRDs`): the schemas and scopes of their kinds.

Renders are cached in the user cache (`renders/`), keyed by everything that decides the output: the chart's digest,
release name and namespace, values, post-renderers, Kubernetes version, API versions and helm's version; a render
unused for 30 days is removed. Several releases render in parallel.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ocw import kustomize, secret_values, toolchain
from ocw.apis import RepositoryCRDs
from ocw.errors import OcwError
from ocw.helm.charts import Chart
from ocw.kube.manifest import Manifest, mapping, mappings, strings
from ocw.paths import replace_whole, user_cache_dir
from ocw.secrets.redact import mask_tokens
from ocw.yamlio import load_all_fast

RENDER_TIMEOUT_SECONDS = 120
CACHE_DAYS = 30
ORIGIN_NAME_LABEL = "helm.toolkit.fluxcd.io/name"
ORIGIN_NAMESPACE_LABEL = "helm.toolkit.fluxcd.io/namespace"
_MAX_ERROR = 600


class RenderError(Exception):
    """helm could not render the release (a `fail` in the chart, values of the wrong shape, a broken chart)."""


@dataclass(frozen=True)
class RenderRequest:
    helmrelease: Manifest
    chart: Chart
    release: str
    namespace: str
    values: dict[str, Any] = field(repr=False)
    include_crds: bool = True


@dataclass(frozen=True)
class Capabilities:
    """What the chart sees of the cluster: `.Capabilities.KubeVersion` and `.Capabilities.APIVersions`."""

    kube_version: str  # MAJOR.MINOR.PATCH
    api_versions: tuple[str, ...]


def render_cache_dir() -> Path:
    return user_cache_dir() / "renders"


def _environment() -> dict[str, str]:
    """Each render is a short-lived Go process: garbage collection only near a memory ceiling (as for kustomize),
    and no repository or registry configuration of the user's is read (the chart is a local path)."""
    return {"GOGC": "off", "GOMEMLIMIT": "512MiB", **os.environ}


def cache_key(request: RenderRequest, capabilities: Capabilities, helm_version: str) -> str:
    document = {
        "chart": request.chart.digest,
        "release": request.release,
        "namespace": request.namespace,
        "values": request.values,
        "crds": request.include_crds,
        "postRenderers": request.helmrelease.spec.get("postRenderers"),
        "kube": capabilities.kube_version,
        "apis": sorted(capabilities.api_versions),
        "helm": helm_version,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def _run_helm(request: RenderRequest, capabilities: Capabilities) -> str:
    helm = toolchain.helm()
    with tempfile.TemporaryDirectory(prefix="ocw-render-") as scratch:
        values = Path(scratch) / "values.json"
        # Values may hold what a Secret gave: readable by this user only, removed with the directory.
        values.touch(mode=0o600)
        values.write_text(json.dumps(request.values, default=str))
        command = [
            str(helm.path),
            "template",
            request.release,
            str(request.chart.path),
            "--namespace",
            request.namespace,
            "--values",
            str(values),
            "--kube-version",
            capabilities.kube_version,
            "--skip-tests",
            "--skip-schema-validation",
        ]
        if request.include_crds:
            command.append("--include-crds")
        if capabilities.api_versions:
            command += ["--api-versions", ",".join(sorted(capabilities.api_versions))]
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=RENDER_TIMEOUT_SECONDS,
                check=False,
                env=_environment(),
                cwd=scratch,
            )
        except subprocess.TimeoutExpired as exc:
            raise RenderError(f"helm template did not finish in {RENDER_TIMEOUT_SECONDS}s") from exc
        except OSError as exc:
            raise OcwError(f"cannot run {helm.describe()}: {exc.strerror or exc}", hint="run `make setup`") from exc
    if completed.returncode != 0:
        # Helm's advice to rerun with --debug is about its own command line, not the user's.
        lines = [line for line in completed.stderr.splitlines() if line.strip() and "--debug" not in line]
        text = mask_tokens("\n".join(lines) or f"helm exited with {completed.returncode}")
        raise RenderError(text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 3] + "...")
    return completed.stdout


def post_render(stream: str, helmrelease: Manifest) -> str:
    """`spec.postRenderers[].kustomize` over the rendered objects, as helm-controller's Kustomize post-renderer."""
    for renderer in mappings(helmrelease.spec.get("postRenderers")):
        directives = mapping(renderer.get("kustomize"))
        if not directives.get("patches") and not directives.get("images"):
            continue
        with tempfile.TemporaryDirectory(prefix="ocw-postrender-") as scratch:
            folder = Path(scratch)
            (folder / "rendered.yaml").write_text(stream)
            document = {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["rendered.yaml"],
                **{key: directives[key] for key in ("patches", "images") if directives.get(key)},
            }
            (folder / "kustomization.yaml").write_text(json.dumps(document))
            try:
                stream = kustomize.build(folder)
            except kustomize.KustomizeError as exc:
                raise RenderError(f"spec.postRenderers: {exc}") from exc
    return stream


def _cached_render(request: RenderRequest, capabilities: Capabilities, cache: Path) -> tuple[str, bool]:
    """The rendered stream, and whether it came from the cache."""
    key = cache_key(request, capabilities, toolchain.helm().version)
    path = cache / key[:2] / f"{key}.yaml"
    try:
        stream = path.read_text()
    except FileNotFoundError:
        pass
    else:
        with contextlib.suppress(OSError):
            os.utime(path)  # used: kept by prune_cache
        return stream, True
    stream = post_render(_run_helm(request, capabilities), request.helmrelease)
    if secret_values.held():
        return stream, False  # a secret value (decrypted, or from a Secret) is never written, not even to the cache
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    replace_whole(path, stream)
    return stream, False


def prune_cache(cache: Path, max_age_seconds: float = CACHE_DAYS * 86400) -> None:
    """Renders unused for a month go: every change to a release's values leaves one behind."""
    cutoff = time.time() - max_age_seconds
    for path in cache.glob("*/*.yaml"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def documents(stream: str) -> list[dict[str, Any]]:
    """The objects of a rendered stream (documents without a kind are not objects)."""
    try:
        loaded = load_all_fast(stream)
    except yaml.YAMLError as exc:
        raise RenderError(f"helm's output is not YAML: {exc}") from exc
    return [document for document in loaded if isinstance(document, dict) and document.get("kind")]


def objects(rendered: Iterable[dict[str, Any]], request: RenderRequest, crds: RepositoryCRDs) -> list[Manifest]:
    """The rendered objects, as helm-controller applies them, each naming its HelmRelease. A kind's scope comes from
    `ocw.apis` (the repository's and the charts' CRDs included)."""
    helmrelease = request.helmrelease
    common = mapping(helmrelease.spec.get("commonMetadata"))
    origin = {ORIGIN_NAME_LABEL: helmrelease.name, ORIGIN_NAMESPACE_LABEL: helmrelease.namespace or ""}
    result: list[Manifest] = []
    for document in rendered:
        metadata = mapping(document.get("metadata"))
        metadata["labels"] = {**strings(metadata.get("labels")), **strings(common.get("labels")), **origin}
        annotations = {**strings(metadata.get("annotations")), **strings(common.get("annotations"))}
        if annotations:
            metadata["annotations"] = annotations
        api_version, kind = str(document.get("apiVersion", "")), str(document["kind"])
        if crds.is_namespaced(api_version, kind):
            metadata["namespace"] = metadata.get("namespace") or request.namespace
        else:  # the API server keeps no namespace on a cluster-scoped object, whatever the chart wrote
            metadata.pop("namespace", None)
        obj = {**document, "metadata": metadata}
        result.append(
            Manifest(obj=obj, kustomization=helmrelease.kustomization, file=helmrelease.file, rendered_from=helmrelease)
        )
    return result


@dataclass
class Rendered:
    request: RenderRequest
    objects: list[Manifest] = field(default_factory=list)
    error: str | None = None


def render_all(
    requests: Sequence[RenderRequest],
    capabilities: Capabilities,
    crds: RepositoryCRDs,
    *,
    cache: Path | None = None,
    workers: int | None = None,
) -> list[Rendered]:
    """Render every request, in parallel; a failed render carries its error instead of objects. The CRDs the charts
    render join `crds` before any object is placed, so that a chart's custom resources (or another chart's) take
    their scope from them."""
    directory = render_cache_dir() if cache is None else cache
    rendered_now: list[RenderRequest] = []

    def one(request: RenderRequest) -> list[dict[str, Any]] | str:
        try:
            stream, cached = _cached_render(request, capabilities, directory)
            if not cached:
                rendered_now.append(request)
            return documents(stream)
        except RenderError as exc:
            return str(exc)

    if not requests:
        return []
    count = workers or max(2, (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(max_workers=min(count, len(requests))) as pool:
        outcomes = list(pool.map(one, requests))
    if rendered_now:
        prune_cache(directory)
    for request, outcome in zip(requests, outcomes, strict=True):
        for document in outcome if isinstance(outcome, list) else []:
            crds.add(document, request.helmrelease.file)
    return [
        Rendered(request, error=outcome)
        if isinstance(outcome, str)
        else Rendered(request, objects(outcome, request, crds))
        for request, outcome in zip(requests, outcomes, strict=True)
    ]


def api_versions(kinds: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """`--api-versions` for (apiVersion, kind) pairs: each `group/version` and `group/version/Kind`, as a cluster
    serving them answers discovery (Helm adds the built-in Kubernetes APIs itself)."""
    found: set[str] = set()
    for api_version, kind in kinds:
        if "/" not in api_version:
            continue  # the core group: Helm knows it
        found.add(api_version)
        if kind:
            found.add(f"{api_version}/{kind}")
    return tuple(sorted(found))
