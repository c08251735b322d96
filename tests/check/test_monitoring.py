"""`ocw check` on the workspaces' monitoring: the Probe and PrometheusRule are there and aim at what the tree builds,
promtool accepts every rule (or one warning says it could not run), and the dashboards are what Grafana loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from check.real_repo import copy_cluster, install_tree
from check.tree_copy import COMPONENT, FLUX_KS, TreeCopy
from ocw.check import CheckReport, run_check
from ocw.findings import Finding, Severity
from ocw.install.host import HOST_DESCRIPTION
from support.prerequisites import require_command

PROBE = f"{COMPONENT}/monitoring/probe.yaml"
RULE = f"{COMPONENT}/monitoring/prometheusrule.yaml"
DASHBOARD = f"{COMPONENT}/monitoring/dashboard.yaml"
KUSTOMIZATION = f"{COMPONENT}/kustomization.yaml"
MONITORING_RULES = {"promtool-rules", "monitoring-present", "monitoring-targets", "grafana-dashboard"}


def of_rule(report: CheckReport, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]


def test_the_tree_has_its_monitoring_and_every_check_passes(tree: TreeCopy) -> None:
    require_command("promtool", package="prometheus", purpose="ocw check runs promtool on the rules")
    report = tree.check()
    assert report.ok, report.to_text()
    assert not [f for f in report.findings if f.rule in MONITORING_RULES], report.to_text()


def test_a_workspace_without_probe_and_rule_is_reported(tree: TreeCopy) -> None:
    tree.replace(KUSTOMIZATION, "  - ./monitoring/probe.yaml\n  - ./monitoring/prometheusrule.yaml\n", "")
    present = of_rule(tree.check(), "monitoring-present")
    assert sorted((f.object, f.message.split(":")[0]) for f in present) == [
        ("Kustomization/opencode-flux", "the workspace builds no Probe"),
        ("Kustomization/opencode-flux", "the workspace builds no PrometheusRule"),
        ("Kustomization/opencode-ha", "the workspace builds no Probe"),
        ("Kustomization/opencode-ha", "the workspace builds no PrometheusRule"),
    ]
    assert {f.file for f in present} == {FLUX_KS, FLUX_KS.replace("opencode-flux", "opencode-ha")}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "- &host ${WORKSPACE_HOST}.opencode",
            "- &host ${WORKSPACE_HOST}.example",
            "but the workspace's route serves 'flux.opencode.example.com'",
        ),
        ("/site.webmanifest\n      labels:", "/session\n      labels:", "probe /site.webmanifest"),
        (
            "url: blackbox-exporter.observability.svc.cluster.local:9115",
            "url: blackbox.monitoring.svc:9115",
            "use blackbox-exporter.observability.svc.cluster.local:9115",
        ),
        ("module: http_2xx", "module: icmp", "module 'icmp' is not an http module"),
    ],
)
def test_a_probe_aimed_wrong_is_reported(tree: TreeCopy, old: str, new: str, expected: str) -> None:
    tree.replace(PROBE, old, new)
    targets = of_rule(tree.check(only=["opencode-flux"]), "monitoring-targets")
    assert targets and all(f.object == "Probe/opencode/opencode-flux" for f in targets)
    assert any(expected in f.message for f in targets), [f.message for f in targets]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('persistentvolumeclaim="${APP}"}', 'persistentvolumeclaim="${APP}-data"}', "the workspace has "),
        ('namespace="opencode", pod=~', 'namespace="default", pod=~', "namespace 'opencode'"),
        ('pod=~"${APP}-[a-z0-9]+-[a-z0-9]+"', 'pod=~"opencode-.+"', "also matches the pods of opencode-"),
        ('pod=~"${APP}-[a-z0-9]+-[a-z0-9]+"', 'pod=~"${APP}"', "the workspace's pods are named"),
        ('obj_name="${APP}"\n              }[', 'obj_name="${APP}-src"\n              }[', "obj_name"),
    ],
)
def test_an_alert_that_would_watch_nothing_is_reported(tree: TreeCopy, old: str, new: str, expected: str) -> None:
    tree.replace(RULE, old, new)
    targets = of_rule(tree.check(), "monitoring-targets")
    assert {f.object for f in targets} == {
        "PrometheusRule/opencode/opencode-flux",
        "PrometheusRule/opencode/opencode-ha",
    }
    assert all(expected in f.message and "it would watch nothing" in f.message for f in targets), targets


def test_the_backup_alert_window_follows_the_schedule(tree: TreeCopy) -> None:
    tree.replace(FLUX_KS, 'VOLSYNC_SCHEDULE: "35 * * * *"', 'VOLSYNC_SCHEDULE: "35 3 * * *"')
    [window] = of_rule(tree.check(), "monitoring-targets")
    assert window.object == "PrometheusRule/opencode/opencode-flux"
    assert "looks back 2h, but ReplicationSource opencode-flux runs '35 3 * * *'" in window.message
    assert "set VOLSYNC_BACKUP_MAX_AGE: 2d" in window.message
    tree.replace(
        FLUX_KS, 'VOLSYNC_SCHEDULE: "35 3 * * *"', 'VOLSYNC_SCHEDULE: "35 3 * * *"\n      VOLSYNC_BACKUP_MAX_AGE: 2d'
    )
    assert not of_rule(tree.check(), "monitoring-targets")


def test_promtool_rejects_a_broken_rule(tree: TreeCopy) -> None:
    require_command("promtool", package="prometheus", purpose="ocw check runs promtool on the rules")
    tree.replace(RULE, "            ) > 0\n          labels:", "            ) >\n          labels:")
    found = of_rule(tree.check(), "promtool-rules")
    assert {f.object for f in found} == {"PrometheusRule/opencode/opencode-flux", "PrometheusRule/opencode/opencode-ha"}
    assert all(f.severity == Severity.ERROR and "OpenCodeWorkspaceRestarted" in f.message for f in found)
    assert all("promtool 2." in f.message or "promtool 3." in f.message for f in found)


def test_without_promtool_one_warning_says_the_rules_were_not_checked(
    tree: TreeCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # the pinned kubectl is found by its own path
    report = tree.check()
    [warning] = of_rule(report, "promtool-rules")
    assert warning.severity == Severity.WARNING
    assert "promtool is not on PATH, so 2 PrometheusRule(s) were not checked" in warning.message
    assert "apt-get install prometheus" in warning.message and report.ok


def test_grafana_variables_written_with_braces_are_caught(tree: TreeCopy) -> None:
    tree.replace(DASHBOARD, '"uid": "$datasource"', '"uid": "${datasource}"')
    report = tree.check()
    undefined = of_rule(report, "flux-undefined-variable")
    assert undefined and all("datasource" in f.message for f in undefined)


def test_dashboards_of_two_workspaces_must_not_share_a_file_or_uid(tree: TreeCopy) -> None:
    tree.replace(DASHBOARD, "  ${APP}.json: |", "  dashboard.json: |")
    tree.replace(DASHBOARD, '"uid": "${APP}"', '"uid": "opencode"')
    messages = [f.message for f in of_rule(tree.check(), "grafana-dashboard")]
    assert any("has uid 'opencode', as ConfigMap/opencode/opencode-flux-dashboard has" in m for m in messages)
    assert any("goes to the same file" in m and "one overwrites the other" in m for m in messages), messages


def test_a_dashboard_grafana_would_not_load_is_reported(tree: TreeCopy) -> None:
    tree.replace(DASHBOARD, '    grafana_dashboard: "1"\n', '    dashboard: "1"\n')
    found = of_rule(tree.check(), "grafana-dashboard")
    assert found and all("loads ConfigMaps labelled grafana_dashboard (any value)" in f.message for f in found)


def test_the_users_own_monitoring_is_read_from_the_repository(tmp_path: Path) -> None:
    """In the user's repository the blackbox exporter, Grafana and VolSync's rule are the repository's own."""
    cluster = copy_cluster(tmp_path / "k8s-cluster")
    install_tree(cluster)
    report = run_check(cluster)
    # The repository's own errors (tests/fixtures/jbaker48-k8s-cluster/findings.json) are none of the workspaces'.
    assert not [f for f in report.errors if f.owner in ("opencode-flux", "opencode-ha")], report.to_text()
    assert not [f for f in report.findings if f.rule in MONITORING_RULES], report.to_text()
    grafana = cluster / "kubernetes/apps/observability/grafana/app/helmrelease.yaml"
    grafana.write_text(grafana.read_text().replace("        searchNamespace: ALL\n", ""))
    blackbox = cluster / "kubernetes/apps/observability/blackbox-exporter/app/helmrelease.yaml"
    blackbox.write_text(
        blackbox.read_text().replace("fullnameOverride: blackbox-exporter", "fullnameOverride: blackbox")
    )
    report = run_check(cluster)
    searched = [f for f in of_rule(report, "grafana-dashboard") if "looks for dashboards in" in f.message]
    assert searched and all("in observability, not in opencode" in f.message for f in searched)
    prober = [f for f in of_rule(report, "monitoring-targets") if "prober.url" in f.message]
    assert prober and all("use blackbox.observability.svc.cluster.local:9115" in f.message for f in prober)


def test_a_rule_the_clusters_prometheus_would_not_select_is_reported(tree: TreeCopy, tmp_path: Path) -> None:
    host = tmp_path / "host-cluster.yaml"
    described = HOST_DESCRIPTION.read_text()
    host.write_text(described.replace("ruleSelectorNilUsesHelmValues: false", "ruleSelectorNilUsesHelmValues: true"))
    found = of_rule(run_check(tree.root, host_description=host), "monitoring-targets")
    assert {f.object for f in found} == {"PrometheusRule/opencode/opencode-flux", "PrometheusRule/opencode/opencode-ha"}
    assert all(
        "the Prometheus of HelmRelease/observability/kube-prometheus-stack selects rules by labels "
        "release=kube-prometheus-stack" in f.message
        for f in found
    )
