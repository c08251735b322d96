"""MON.1 against a real Prometheus: the workspace's rendered PrometheusRule loaded as Prometheus Operator loads it,
series standing in for kube-state-metrics and the Probe's scrape, read through the fake API server's service proxy
(as `ocw verify` reads a cluster's Prometheus by default) or at `--prometheus URL`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitoring.servers import Server, prometheus, wait_for
from ocw.monitoring.promtool import rules_file
from support.exposition import Series, serve

from .conftest import Cluster, Run

RunOcw = Callable[[list[str]], Run]
APP = "opencode-flux"
POD = f"{APP}-5d8c7b9f4-q7x2m"
NEIGHBOUR_POD = "opencode-ha-6f7d8c9b5-b4k9z"
# A rule of the cluster's own, without a workspace label: it concerns a workspace through the pod it names.
CLUSTER_RULES = """groups:
  - name: cluster
    rules:
      - alert: ClusterPodRestarted
        expr: increase(kube_pod_container_status_restarts_total[1h]) > 0
        labels: {severity: warning}
        annotations: {summary: "{{ $labels.pod }} restarted"}
"""


@dataclass
class Monitoring:
    server: Server
    series: Series


@pytest.fixture
def monitoring(cluster: Cluster, tmp_path: Path) -> Iterator[Monitoring]:
    series = Series()
    for pod in (POD, NEIGHBOUR_POD):
        series.set(
            "kube_pod_container_status_restarts_total", {"namespace": "opencode", "pod": pod, "container": "app"}, 0
        )
    rule = next(m.obj for m in cluster.tree.workspace(APP).built.manifests if m.kind == "PrometheusRule")
    with serve(series) as metrics, serve(_probe_series()) as probe:
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": "kube-state-metrics", "honor_labels": True, "static_configs": [{"targets": [metrics]}]},
                {
                    "job_name": f"probe/opencode/{APP}",
                    "static_configs": [{"targets": [probe], "labels": {"namespace": "opencode", "workspace": APP}}],
                },
            ],
        }
        rules = {"workspace.yaml": rules_file(rule), "cluster.yaml": CLUSTER_RULES}
        with prometheus(config, tmp_path / "prometheus", rules) as server:
            wait_for(server, f'probe_success{{job="probe/opencode/{APP}"}}', "1")
            wait_for(server, 'count(kube_pod_container_status_restarts_total{namespace="opencode"})', "2")
            yield Monitoring(server, series)


def _probe_series() -> Series:
    probe = Series()
    probe.set("probe_success", {}, 1)
    probe.set("probe_ssl_earliest_cert_expiry", {}, 4102444800)  # 2100-01-01
    return probe


def _in_cluster(cluster: Cluster, server: Server) -> None:
    """The Service Prometheus Operator creates for a Prometheus, with the real Prometheus behind it."""
    cluster.fake.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "prometheus-operated",
                "namespace": "observability",
                "labels": {"operated-prometheus": "true", "managed-by": "prometheus-operator"},
            },
            "spec": {"clusterIP": "None", "ports": [{"name": "web", "port": 9090, "targetPort": "web"}]},
        }
    )
    cluster.fake.service_backends[("observability", "prometheus-operated")] = server.url


def _mon1(run_ocw: RunOcw, cluster: Cluster, *extra: str) -> dict[str, Any]:
    run = run_ocw(cluster.args("--json", "--phase", "4", "--workspace", "flux", *extra))
    return run.results()[("MON.1", APP)]


def test_a_quiet_workspace_passes_read_through_the_service_proxy(
    cluster: Cluster, monitoring: Monitoring, run_ocw: RunOcw, no_doppler: None
) -> None:
    _in_cluster(cluster, monitoring.server)
    result = _mon1(run_ocw, cluster)
    assert result["status"] == "pass", result
    evidence = "\n".join(result["evidence"])
    assert "Service observability/prometheus-operated:web through the API server" in evidence
    assert "alert rules loaded: OpenCodeWorkspaceBackupTooOld, OpenCodeWorkspaceMemoryNearLimit" in evidence
    assert "probe_success 1 for 127.0.0.1:" in evidence
    assert "the certificate the probe saw expires in" in evidence
    assert f"no alert about {APP} is firing" in evidence
    proxied = [r for r in cluster.fake.requests if "/proxy/" in r.path]
    assert proxied and all(r.path.startswith("/api/v1/namespaces/observability/services/") for r in proxied)
    assert {r.method for r in cluster.fake.requests} == {"GET"}  # read-only, the proxy included


def test_a_firing_alert_about_the_workspace_fails_and_names_it(
    cluster: Cluster, monitoring: Monitoring, run_ocw: RunOcw, no_doppler: None
) -> None:
    _in_cluster(cluster, monitoring.server)
    for pod in (POD, NEIGHBOUR_POD):
        labels = {"namespace": "opencode", "pod": pod, "container": "app"}
        monitoring.series.set("kube_pod_container_status_restarts_total", labels, 1)
    wait_for(monitoring.server, 'count(ALERTS{alertstate="firing"})', "3")  # two workspaces' pods, one own rule
    result = _mon1(run_ocw, cluster)
    assert result["status"] == "fail", result
    seen = str(result["seen"])
    assert "OpenCodeWorkspaceRestarted (warning, active since" in seen
    assert f"Workspace {APP} restarted in the last hour ({POD})" in seen
    assert "ClusterPodRestarted (warning, active since" in seen and f"{POD} restarted" in seen
    assert NEIGHBOUR_POD not in seen  # the other workspace's restart is not this workspace's alert
    assert "runbook" in str(result["next"])


def test_rules_prometheus_has_not_loaded_fail(
    cluster: Cluster, monitoring: Monitoring, run_ocw: RunOcw, no_doppler: None
) -> None:
    """The HA workspace's rule is not loaded in this Prometheus: what a rule Prometheus does not select looks like."""
    run = run_ocw(cluster.args("--json", "--phase", "4", "--prometheus", monitoring.server.url))
    results = run.results()
    assert results[("MON.1", APP)]["status"] == "pass", results[("MON.1", APP)]
    other = results[("MON.1", "opencode-ha")]
    assert other["status"] == "fail"
    assert "not loaded: OpenCodeWorkspaceBackupTooOld" in str(other["seen"])
    assert f"Prometheus: {monitoring.server.url} (--prometheus)" in str(other["evidence"])


def test_without_a_prometheus_the_check_is_skipped_with_the_way_to_give_one(
    cluster: Cluster, run_ocw: RunOcw, no_doppler: None
) -> None:
    result = _mon1(run_ocw, cluster)
    assert result["status"] == "skip"
    assert "no Service labelled operated-prometheus=true" in str(result["reason"])
    assert "--prometheus URL" in str(result["reason"])


def test_a_prometheus_service_without_endpoints_fails_with_the_api_servers_answer(
    cluster: Cluster, monitoring: Monitoring, run_ocw: RunOcw, no_doppler: None
) -> None:
    _in_cluster(cluster, monitoring.server)
    del cluster.fake.service_backends[("observability", "prometheus-operated")]
    result = _mon1(run_ocw, cluster)
    assert result["status"] == "fail"
    assert 'answered HTTP 503: no endpoints available for service "prometheus-operated"' in str(result["seen"])
