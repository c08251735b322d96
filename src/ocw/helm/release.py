"""A HelmRelease as helm-controller reads it (helm.toolkit.fluxcd.io/v2): the release name and namespace, the chart
it asks for and from which source, and the values it composes from `valuesFrom` and `values`.

Modelled on helm-controller's own code (api/v2 GetReleaseName, GetReleaseNamespace; internal/release ShortenName) and
fluxcd/pkg chartutil.ChartValuesFromReferences:
- the release name is `spec.releaseName`, else `[<targetNamespace>-]<name>`, shortened past 53 characters to its
  first 40, a dash and 12 hex digits of its SHA-256;
- the release namespace is `spec.targetNamespace`, else the HelmRelease's; the storage namespace (where Helm keeps
  the release) changes nothing that is rendered;
- values: each `valuesFrom` entry in order, merged over the previous ones (`valuesKey`, default `values.yaml`), then
  `values` merged over them all; an entry with `targetPath` first merges `values` in, then sets that one path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from ocw.helm.semver import Constraint, VersionError
from ocw.helm.set_path import PathError, set_path
from ocw.kube.manifest import Manifest, mapping, mappings

MAX_RELEASE_NAME = 53
DEFAULT_VALUES_KEY = "values.yaml"
SourceKind = Literal["OCIRepository", "HelmRepository", "GitRepository", "Bucket", "ExternalArtifact"]
HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

Lookup = Callable[[str, str | None, str], Manifest | None]  # (kind, namespace, name) -> the object, if the tree has it


def shorten_name(name: str) -> str:
    """helm-controller's ShortenName."""
    if len(name) <= MAX_RELEASE_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()
    return name[: MAX_RELEASE_NAME - 13] + "-" + digest[:12]


def release_name(helmrelease: Manifest) -> str:
    spec = helmrelease.spec
    if spec.get("releaseName"):
        return shorten_name(str(spec["releaseName"]))
    target = spec.get("targetNamespace")
    return shorten_name(f"{target}-{helmrelease.name}" if target else helmrelease.name)


def release_namespace(helmrelease: Manifest) -> str:
    return str(helmrelease.spec.get("targetNamespace") or helmrelease.namespace or "default")


@dataclass(frozen=True)
class ChartSource:
    """Where the chart's artifact comes from: an OCI repository (oci://host/path/chart) or a Helm repository
    (index.yaml under its URL; an `oci://` URL for a HelmRepository of type oci)."""

    kind: SourceKind
    url: str
    insecure: bool = False  # plain HTTP to an OCI registry (OCIRepository spec.insecure)
    object_ref: str = ""


@dataclass(frozen=True)
class ChartRequest:
    """The chart a HelmRelease asks for: its name, the version (a tag, or a semver constraint), and its source."""

    chart: str
    version: str
    source: ChartSource
    digest: str | None = None  # an OCIRepository pinned by digest

    @property
    def constraint(self) -> Constraint | None:
        """The version as a constraint (an exact version is one too); None for a tag that is no version."""
        try:
            return Constraint.parse(self.version)
        except VersionError:
            return None

    @property
    def oci_reference(self) -> str:
        """oci://registry/repository of the chart (a HelmRepository of type oci holds charts below its URL)."""
        if self.source.kind == "OCIRepository":
            return self.source.url.rstrip("/")
        return f"{self.source.url.rstrip('/')}/{self.chart}"

    def describe(self) -> str:
        return f"{self.chart} {self.version} ({self.source.url})"


@dataclass(frozen=True)
class ChartProblem:
    """Why the chart of a HelmRelease cannot be named from the repository alone."""

    message: str
    missing_ref: bool = False  # spec.chartRef names an object the tree lacks (the link-chart-ref rule's case)


def chart_request(helmrelease: Manifest, lookup: Lookup) -> ChartRequest | ChartProblem:
    spec = helmrelease.spec
    if isinstance(spec.get("chartRef"), Mapping):
        ref = mapping(spec["chartRef"])
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        namespace = str(ref.get("namespace") or helmrelease.namespace or "")
        source = lookup(kind, namespace, name)
        if source is None:
            return ChartProblem(
                f"chartRef names {kind} {namespace}/{name}, which the repository does not define", missing_ref=True
            )
        if kind == "OCIRepository":
            return _oci_repository(source)
        if kind == "HelmChart":
            return _chart_template(source.spec, source, lookup)
        return ChartProblem(f"chartRef kind {kind} ({source.ref}) is not a source ocw can fetch a chart from")
    template = mapping(mapping(spec.get("chart")).get("spec"))
    if not template:
        return ChartProblem("the HelmRelease has neither spec.chartRef nor spec.chart")
    return _chart_template(template, helmrelease, lookup)


def _oci_repository(source: Manifest) -> ChartRequest | ChartProblem:
    spec = source.spec
    url = str(spec.get("url", ""))
    if not url.startswith("oci://"):
        return ChartProblem(f"{source.ref} has url {url!r}: an OCI repository URL starts with oci://")
    layer = mapping(spec.get("layerSelector")).get("mediaType")
    if layer not in (None, HELM_CHART_LAYER):
        return ChartProblem(f"{source.ref} selects layer {layer}, which is no Helm chart ({HELM_CHART_LAYER})")
    ref = mapping(spec.get("ref"))
    version = str(ref.get("tag") or ref.get("semver") or "latest")
    digest = str(ref["digest"]) if ref.get("digest") else None
    chart = url.rstrip("/").rsplit("/", 1)[-1]
    kind: SourceKind = "OCIRepository"
    return ChartRequest(chart, version, ChartSource(kind, url, spec.get("insecure") is True, source.ref), digest)


def _chart_template(template: dict[str, Any], owner: Manifest, lookup: Lookup) -> ChartRequest | ChartProblem:
    chart = str(template.get("chart", ""))
    version = str(template.get("version") or "*")
    ref = mapping(template.get("sourceRef"))
    kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
    namespace = str(ref.get("namespace") or owner.namespace or "")
    if not chart:
        return ChartProblem(f"{owner.ref} names no chart (spec.chart)")
    if kind != "HelmRepository":
        return ChartProblem(
            f"chart {chart} comes from a {kind} ({namespace}/{name}): only charts of Helm and OCI "
            "repositories are rendered"
        )
    repository = lookup("HelmRepository", namespace, name)
    if repository is None:
        return ChartProblem(
            f"chart {chart} comes from HelmRepository {namespace}/{name}, which the repository does not define"
        )
    url = str(repository.spec.get("url", ""))
    source_kind: SourceKind = "HelmRepository"
    return ChartRequest(
        chart, version, ChartSource(source_kind, url, repository.spec.get("insecure") is True, repository.ref)
    )


@dataclass(frozen=True)
class ValuesProblem:
    """A valuesFrom entry that helm-controller could not resolve, or one ocw cannot read offline."""

    message: str
    fatal: bool  # helm-controller fails the release (True), or ocw merely cannot know the value (False)


def compose_values(helmrelease: Manifest, lookup: Lookup) -> tuple[dict[str, Any], list[ValuesProblem]]:
    """The values helm-controller hands to Helm, and what kept any valuesFrom entry out of them."""
    inline = mapping(helmrelease.spec.get("values"))
    result: dict[str, Any] = {}
    problems: list[ValuesProblem] = []
    for ref in mappings(helmrelease.spec.get("valuesFrom")):
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        key = str(ref.get("valuesKey") or DEFAULT_VALUES_KEY)
        where = f"valuesFrom {kind} {name} key {key}"
        if kind not in ("ConfigMap", "Secret"):
            problems.append(ValuesProblem(f"{where}: kind must be ConfigMap or Secret", fatal=True))
            continue
        data = _data(lookup(kind, helmrelease.namespace, name), kind)
        if isinstance(data, ValuesProblem):
            if not (ref.get("optional") is True and data.fatal):
                problems.append(ValuesProblem(f"{where}: {data.message}", data.fatal))
            continue
        if key not in data:
            if ref.get("optional") is not True:
                problems.append(ValuesProblem(f"{where}: {kind} {name} has no key {key}", fatal=True))
            continue
        if ref.get("targetPath"):
            result = merge(result, inline)
            try:
                set_path(result, str(ref["targetPath"]), data[key], literal=ref.get("literal") is True)
            except PathError as exc:
                problems.append(ValuesProblem(f"{where}: targetPath {ref['targetPath']!r}: {exc}", fatal=True))
            continue
        try:
            loaded = yaml.safe_load(data[key]) if data[key].strip() else {}
        except yaml.YAMLError as exc:
            problems.append(ValuesProblem(f"{where}: not YAML: {exc}", fatal=True))
            continue
        if not isinstance(loaded, dict):
            problems.append(ValuesProblem(f"{where}: not a YAML mapping", fatal=True))
            continue
        result = merge(result, loaded)
    return merge(result, inline), problems


def _data(source: Manifest | None, kind: str) -> dict[str, str] | ValuesProblem:
    if source is None:
        return ValuesProblem(f"the repository does not create this {kind} in the HelmRelease's namespace", fatal=True)
    if "sops" in source.obj or (source.raw is not None and "sops" in source.raw):
        return ValuesProblem(f"{source.ref} is SOPS-encrypted: its values are unknown offline", fatal=False)
    data = {str(k): str(v) for k, v in mapping(source.obj.get("stringData")).items()}
    if kind == "ConfigMap":
        return {**{str(k): str(v) for k, v in mapping(source.obj.get("data")).items()}, **data}
    for key, value in mapping(source.obj.get("data")).items():
        try:
            data.setdefault(str(key), base64.b64decode(str(value), validate=True).decode())
        except (binascii.Error, UnicodeDecodeError):
            return ValuesProblem(f"{source.ref} data.{key} is not base64 text", fatal=True)
    return data


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """fluxcd/pkg chartutil.MergeMaps: maps merge key by key, anything else in override replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
