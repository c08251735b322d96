"""What helm-controller would do with the repository's HelmReleases, offline: name each release's chart, take it
from the vendored charts or the cache, compose its values, and render it. Callers get, per release, the rendered
objects or why there are none; per chart, one note when it could not be had exactly (charts.py has the policy)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ocw.apis import RepositoryCRDs
from ocw.helm.charts import Chart, ChartStore, Unavailable
from ocw.helm.release import (
    ChartProblem,
    ChartRequest,
    Lookup,
    ValuesProblem,
    chart_request,
    compose_values,
    release_name,
    release_namespace,
)
from ocw.helm.render import Capabilities, RenderRequest, render_all
from ocw.kube.manifest import Manifest, mapping

ProblemKind = Literal["chart", "values", "render"]


@dataclass(frozen=True)
class ReleaseProblem:
    kind: ProblemKind
    message: str
    fatal: bool  # helm-controller would fail the release; otherwise ocw only cannot tell


@dataclass
class Release:
    """One HelmRelease and what its chart renders from it."""

    helmrelease: Manifest
    name: str
    namespace: str
    request: ChartRequest | None = None
    chart: Chart | None = None
    # The values Helm is given: valuesFrom and values composed as helm-controller does.
    values: dict[str, Any] = field(default_factory=dict, repr=False)
    objects: list[Manifest] = field(default_factory=list)
    problems: list[ReleaseProblem] = field(default_factory=list)

    @property
    def rendered(self) -> bool:
        return self.chart is not None and not any(p.kind == "render" for p in self.problems)


@dataclass
class ChartNote:
    """One note per chart and version asked for: rendered with another version, or not rendered at all."""

    chart: str  # what was asked for: `app-template 4.4.0 (oci://...)`, or the chart reference that failed
    message: str
    available: bool
    releases: list[Manifest] = field(default_factory=list)


@dataclass
class Releases:
    releases: list[Release]
    notes: list[ChartNote]

    def for_helmrelease(self, helmrelease: Manifest) -> Release | None:
        return next((r for r in self.releases if r.helmrelease is helmrelease), None)


def install_crds(helmrelease: Manifest) -> bool:
    """helm-controller installs a chart's CRDs unless `spec.install.crds: Skip` (Create is the default)."""
    return mapping(helmrelease.spec.get("install")).get("crds") != "Skip"


def render_releases(
    helmreleases: Sequence[Manifest],
    lookup: Lookup,
    capabilities: Capabilities,
    crds: RepositoryCRDs,
    *,
    store: ChartStore | None = None,
) -> Releases:
    store = store or ChartStore()
    releases: list[Release] = []
    requests: list[RenderRequest] = []
    pending: list[Release] = []
    notes: dict[str, ChartNote] = {}
    for helmrelease in helmreleases:
        release = Release(helmrelease, release_name(helmrelease), release_namespace(helmrelease))
        releases.append(release)
        request = chart_request(helmrelease, lookup)
        if isinstance(request, ChartProblem):
            release.problems.append(ReleaseProblem("chart", request.message, fatal=False))
            if not request.missing_ref:
                notes.setdefault(request.message, ChartNote(request.message, request.message, False)).releases.append(
                    helmrelease
                )
            continue
        release.request = request
        resolved = store.resolve(request)
        if isinstance(resolved, Unavailable):
            _note(notes, request, resolved.reason, False, helmrelease)
            release.problems.append(ReleaseProblem("chart", resolved.reason, fatal=False))
            continue
        if resolved.note is not None:
            _note(notes, request, resolved.note, True, helmrelease)
        release.chart = resolved.chart
        values, problems = compose_values(helmrelease, lookup)
        release.values = values
        release.problems.extend(_values_problem(p) for p in problems)
        requests.append(
            RenderRequest(
                helmrelease, resolved.chart, release.name, release.namespace, values, install_crds(helmrelease)
            )
        )
        pending.append(release)
    for release, rendered in zip(pending, render_all(requests, capabilities, crds), strict=True):
        if rendered.error is not None:
            release.problems.append(ReleaseProblem("render", rendered.error, fatal=True))
        release.objects = rendered.objects
    return Releases(releases, list(notes.values()))


def _values_problem(problem: ValuesProblem) -> ReleaseProblem:
    return ReleaseProblem("values", problem.message, problem.fatal)


def _note(notes: dict[str, ChartNote], request: ChartRequest, message: str, available: bool, hr: Manifest) -> None:
    subject = request.describe()
    notes.setdefault(subject, ChartNote(subject, message, available)).releases.append(hr)


def kinds_of(manifests: Iterable[Manifest]) -> set[tuple[str, str]]:
    """(apiVersion, kind) of objects, and of the kinds CustomResourceDefinitions among them serve."""
    found: set[tuple[str, str]] = set()
    for manifest in manifests:
        found.add((manifest.api_version, manifest.kind))
        if manifest.kind == "CustomResourceDefinition":
            spec = manifest.spec
            kind = str(mapping(spec.get("names")).get("kind", ""))
            for version in spec.get("versions") or []:
                if isinstance(version, dict) and version.get("served", True) is not False:
                    found.add((f"{spec.get('group')}/{version.get('name')}", kind))
    return found
