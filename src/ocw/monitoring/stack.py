"""The cluster's monitoring stack as its HelmReleases define it: blackbox exporters (chart
prometheus-blackbox-exporter), Grafana's dashboard sidecar (chart grafana) and the Prometheus of kube-prometheus-stack,
with the chart defaults that apply when the values leave something out. Charts are recognised by name, from a
HelmRepository chart (`spec.chart.spec.chart`) or an OCIRepository chartRef whose URL ends with the chart's name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ocw.helm.release import release_name, release_namespace
from ocw.kube.manifest import Manifest

BLACKBOX_CHART = "prometheus-blackbox-exporter"
BLACKBOX_PORT = 9115  # the chart's service.port
BLACKBOX_DEFAULT_MODULES = {"http_2xx": "http"}  # the chart's config.modules, which values are merged into
GRAFANA_CHART = "grafana"
GRAFANA_DEFAULT_LABEL = "grafana_dashboard"
PROMETHEUS_CHART = "kube-prometheus-stack"


def _spec(manifest: Manifest) -> dict[str, Any]:
    return dict(manifest.obj.get("spec") or {})


def _values(manifest: Manifest) -> dict[str, Any]:
    return dict(_spec(manifest).get("values") or {})


def chart_name(helmrelease: Manifest, oci_urls: Mapping[str, str]) -> str:
    spec = _spec(helmrelease)
    chart = ((spec.get("chart") or {}).get("spec") or {}).get("chart")
    if chart:
        return str(chart).rsplit("/", 1)[-1]
    url = oci_urls.get(str((spec.get("chartRef") or {}).get("name", "")), "")
    return url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class BlackboxExporter:
    helmrelease: Manifest
    service: str
    namespace: str
    port: int
    modules: dict[str, str]  # module -> prober

    def prober_urls(self) -> set[str]:
        """The host:port forms a Probe's prober.url may use for this Service."""
        hosts = (f"{self.service}.{self.namespace}.svc.cluster.local", f"{self.service}.{self.namespace}.svc")
        return {f"{host}:{self.port}" for host in (*hosts, f"{self.service}.{self.namespace}")}


def blackbox_exporter(helmrelease: Manifest) -> BlackboxExporter:
    values = _values(helmrelease)
    release = release_name(helmrelease)
    service = values.get("fullnameOverride") or (
        release if BLACKBOX_CHART in release else f"{release}-{values.get('nameOverride') or BLACKBOX_CHART}"
    )
    modules = dict(BLACKBOX_DEFAULT_MODULES)
    for name, module in ((values.get("config") or {}).get("modules") or {}).items():
        modules[str(name)] = str((module or {}).get("prober", ""))
    port = (values.get("service") or {}).get("port") or BLACKBOX_PORT
    return BlackboxExporter(helmrelease, str(service)[:63], release_namespace(helmrelease), int(port), modules)


@dataclass(frozen=True)
class DashboardSidecar:
    """What Grafana's dashboard sidecar (k8s-sidecar) loads: ConfigMaps with `label` (of value `label_value`, any value
    when empty) in the namespaces it searches, filed under the folder their `folder_annotation` names."""

    helmrelease: Manifest
    enabled: bool
    label: str
    label_value: str
    namespaces: tuple[str, ...]  # ("ALL",) for every namespace
    folder_annotation: str | None

    def searches(self, namespace: str) -> bool:
        return "ALL" in self.namespaces or namespace in self.namespaces


def dashboard_sidecar(helmrelease: Manifest) -> DashboardSidecar:
    dashboards = (_values(helmrelease).get("sidecar") or {}).get("dashboards") or {}
    search = dashboards.get("searchNamespace")
    if search is None:
        namespaces: tuple[str, ...] = (release_namespace(helmrelease),)  # the chart's default: Grafana's own
    elif isinstance(search, list):
        namespaces = tuple(str(n) for n in search)
    else:
        namespaces = tuple(n.strip() for n in str(search).split(","))
    return DashboardSidecar(
        helmrelease=helmrelease,
        enabled=dashboards.get("enabled") is True,
        label=str(dashboards.get("label") or GRAFANA_DEFAULT_LABEL),
        label_value=str(dashboards.get("labelValue") or ""),
        namespaces=namespaces,
        folder_annotation=str(dashboards["folderAnnotation"]) if dashboards.get("folderAnnotation") else None,
    )


@dataclass(frozen=True)
class Selection:
    """A Prometheus's selector for one kind of object (PrometheusRule or Probe): the labels it requires (`None`:
    every object) and whether the selector has parts this model does not evaluate (matchExpressions)."""

    labels: dict[str, str] | None
    unmodelled: bool = False


@dataclass(frozen=True)
class PrometheusSelectors:
    helmrelease: Manifest
    rules: Selection
    probes: Selection
    namespaces: dict[str, Selection] = field(default_factory=dict)  # "rules"/"probes" -> namespace selector


def _selection(selector: Any, nil_uses_helm_values: Any, release: str) -> Selection:
    if isinstance(selector, dict) and selector:
        return Selection(
            {str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()},
            unmodelled=bool(selector.get("matchExpressions")),
        )
    if nil_uses_helm_values is not False:  # the chart's default is true: only objects labelled release: <release>
        return Selection({"release": release})
    return Selection(None)


def prometheus_selectors(helmrelease: Manifest) -> PrometheusSelectors:
    spec = (_values(helmrelease).get("prometheus") or {}).get("prometheusSpec") or {}
    release = release_name(helmrelease)
    namespaces = {}
    for kind in ("rule", "probe"):
        selector = spec.get(f"{kind}NamespaceSelector")
        if isinstance(selector, dict) and selector:
            namespaces[f"{kind}s"] = _selection(selector, False, release)
    return PrometheusSelectors(
        helmrelease=helmrelease,
        rules=_selection(spec.get("ruleSelector"), spec.get("ruleSelectorNilUsesHelmValues"), release),
        probes=_selection(spec.get("probeSelector"), spec.get("probeSelectorNilUsesHelmValues"), release),
        namespaces=namespaces,
    )


@dataclass(frozen=True)
class Stack:
    blackbox_exporters: list[BlackboxExporter]
    dashboard_sidecars: list[DashboardSidecar]
    prometheuses: list[PrometheusSelectors]


def find_stack(helmreleases: Iterable[Manifest], oci_urls: Mapping[str, Mapping[str, str]]) -> Stack:
    """The monitoring charts among the HelmReleases; `oci_urls` maps a namespace to its OCIRepository URLs by name."""
    stack = Stack([], [], [])
    for helmrelease in helmreleases:
        chart = chart_name(helmrelease, oci_urls.get(helmrelease.namespace or "", {}))
        if chart == BLACKBOX_CHART:
            stack.blackbox_exporters.append(blackbox_exporter(helmrelease))
        elif chart == GRAFANA_CHART:
            stack.dashboard_sidecars.append(dashboard_sidecar(helmrelease))
        elif chart == PROMETHEUS_CHART:
            stack.prometheuses.append(prometheus_selectors(helmrelease))
    return stack
