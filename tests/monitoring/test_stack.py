"""The cluster's monitoring stack read from HelmReleases, with the charts' defaults where the values say nothing
(prometheus-blackbox-exporter's fullname and port, grafana's sidecar, kube-prometheus-stack's selectors)."""

from __future__ import annotations

from typing import Any

from ocw.helm.release import release_name
from ocw.kube.manifest import Manifest
from ocw.monitoring.stack import find_stack


def helmrelease(name: str, chart: str, values: dict[str, Any], **spec: Any) -> Manifest:
    obj = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "observability"},
        "spec": {"chart": {"spec": {"chart": chart}}, "values": values, **spec},
    }
    return Manifest(obj=obj, kustomization=name, file=f"{name}.yaml")


def test_a_blackbox_exporter_is_named_as_its_chart_names_it() -> None:
    stack = find_stack(
        [
            helmrelease("blackbox-exporter", "prometheus-blackbox-exporter", {"fullnameOverride": "blackbox-exporter"}),
            helmrelease("probes", "prometheus-blackbox-exporter", {}),
            helmrelease("prometheus-blackbox-exporter", "prometheus-blackbox-exporter", {"service": {"port": 9116}}),
        ],
        {},
    )
    urls = [sorted(e.prober_urls()) for e in stack.blackbox_exporters]
    assert "blackbox-exporter.observability.svc.cluster.local:9115" in urls[0]
    assert "probes-prometheus-blackbox-exporter.observability.svc:9115" in urls[1]
    assert "prometheus-blackbox-exporter.observability:9116" in urls[2]
    # The chart's own http_2xx stays beside modules the values add (Helm merges maps).
    assert stack.blackbox_exporters[1].modules == {"http_2xx": "http"}


def test_a_release_in_another_target_namespace_is_named_as_helm_controller_names_it() -> None:
    release = helmrelease("grafana", "grafana", {}, targetNamespace="monitoring")
    assert release_name(release) == "monitoring-grafana"
    assert release_name(helmrelease("grafana", "grafana", {}, releaseName="g")) == "g"


def test_grafanas_sidecar_defaults_to_its_own_namespace_and_any_label_value() -> None:
    stack = find_stack(
        [
            helmrelease("grafana", "grafana", {"sidecar": {"dashboards": {"enabled": True}}}),
            helmrelease(
                "g2", "grafana", {"sidecar": {"dashboards": {"searchNamespace": ["a", "b"], "labelValue": "1"}}}
            ),
        ],
        {},
    )
    first, second = stack.dashboard_sidecars
    assert first.enabled and first.label == "grafana_dashboard" and first.label_value == ""
    assert first.searches("observability") and not first.searches("opencode")
    assert first.folder_annotation is None
    assert not second.enabled and second.namespaces == ("a", "b") and second.label_value == "1"


def test_kube_prometheus_stack_selects_by_its_release_label_unless_told_otherwise() -> None:
    default, everything, own = find_stack(
        [
            helmrelease("kube-prometheus-stack", "kube-prometheus-stack", {}),
            helmrelease(
                "kps",
                "kube-prometheus-stack",
                {"prometheus": {"prometheusSpec": {"ruleSelectorNilUsesHelmValues": False}}},
            ),
            helmrelease(
                "own",
                "kube-prometheus-stack",
                {"prometheus": {"prometheusSpec": {"probeSelector": {"matchLabels": {"team": "home"}}}}},
            ),
        ],
        {},
    ).prometheuses
    assert default.rules.labels == default.probes.labels == {"release": "kube-prometheus-stack"}
    assert everything.rules.labels is None and everything.probes.labels == {"release": "kps"}
    assert own.probes.labels == {"team": "home"}


def test_a_chart_from_an_oci_repository_is_recognised_by_its_url() -> None:
    release = helmrelease("bb", "unused", {})
    release.obj["spec"] = {"chartRef": {"kind": "OCIRepository", "name": "bb"}, "values": {}}
    urls = {"observability": {"bb": "oci://ghcr.io/prometheus-community/charts/prometheus-blackbox-exporter"}}
    assert len(find_stack([release], urls).blackbox_exporters) == 1
