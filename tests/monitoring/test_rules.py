"""The workspaces' PrometheusRules, rendered as Flux renders them, through Debian's promtool: `check rules` on every
workspace's rule, and `test rules` with series that make each alert fire and stay silent (rules_test.yaml)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from check.real_repo import copy_cluster
from monitoring.rendered import rendered, workspace_object
from ocw.check import run_check
from ocw.flux.build import Manifest
from ocw.install.apply import install
from ocw.install.new_workspace import WorkspaceRequest
from ocw.monitoring.promtool import check_rules, rules_file
from ocw.tree import load_tree
from support.prerequisites import require_command

UNIT_TESTS = Path(__file__).with_name("rules_test.yaml")
WORKSPACES = ("opencode-flux", "opencode-ha")


@pytest.fixture(scope="module")
def manifests() -> list[Manifest]:
    return rendered()


def promtool() -> Path:
    return require_command("promtool", package="prometheus", purpose="the rule tests run promtool")


@pytest.mark.parametrize("app", WORKSPACES)
def test_promtool_accepts_the_rendered_rule(manifests: list[Manifest], app: str) -> None:
    rule = workspace_object(manifests, "PrometheusRule", app)
    [verdict] = check_rules(promtool(), [rule])
    assert verdict.ok, verdict.problems
    assert verdict.rules == 5
    # Flux filled in every variable: the expressions name the workspace and no `${` is left.
    expressions = [str(r["expr"]) for r in rule["spec"]["groups"][0]["rules"]]
    assert any(f'obj_name="{app}"' in e for e in expressions) and "${" not in rules_file(rule)


@pytest.mark.parametrize(("app", "neighbour"), [("opencode-flux", "opencode-ha"), ("opencode-ha", "opencode-flux")])
def test_each_alert_fires_for_its_workspace_only(
    manifests: list[Manifest], app: str, neighbour: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_file(workspace_object(manifests, "PrometheusRule", app)))
    tests = tmp_path / "tests.yaml"
    text = UNIT_TESTS.read_text().replace("NEIGHBOUR", neighbour).replace("WORKSPACE", app)
    tests.write_text(f"rule_files:\n  - {rules.name}\n{text}")
    result = subprocess.run(
        [str(promtool()), "test", "rules", str(tests)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_broken_expression_is_what_promtool_reports(manifests: list[Manifest]) -> None:
    rule = workspace_object(manifests, "PrometheusRule", "opencode-flux")
    rule["spec"]["groups"][0]["rules"][0]["expr"] = "sum(kube_pod_container_status_restarts_total"
    [verdict] = check_rules(promtool(), [rule])
    assert not verdict.ok
    assert any("unclosed left parenthesis" in problem for problem in verdict.problems), verdict.problems


def test_a_third_workspace_installed_in_the_users_repository_gets_working_monitoring(tmp_path: Path) -> None:
    """`ocw install --workspace docs` into the user's repository: the new workspace has its Probe, rule and dashboard
    with nothing else edited, they pass `ocw check` against the user's own stack, and its alerts fire for it alone."""
    cluster = copy_cluster(tmp_path / "k8s-cluster")
    install(cluster, WorkspaceRequest(name="docs", repository="https://github.com/jbaker48/docs.git"))
    report = run_check(cluster, only=["opencode"])
    assert report.ok, report.to_text()
    manifests = list(load_tree(cluster, only=["opencode-docs"]).manifests())
    probe = workspace_object(manifests, "Probe", "opencode-docs")
    # The gateway address comes from the user's own cluster-settings.
    assert probe["spec"]["targets"]["staticConfig"]["static"] == ["https://10.20.0.55/site.webmanifest"]
    dashboards = [m.obj for m in manifests if m.kind == "ConfigMap" and m.name == "opencode-docs-dashboard"]
    assert [list(d["data"]) for d in dashboards] == [["opencode-docs.json"]]
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_file(workspace_object(manifests, "PrometheusRule", "opencode-docs")))
    tests = tmp_path / "tests.yaml"
    text = UNIT_TESTS.read_text().replace("NEIGHBOUR", "opencode-flux").replace("WORKSPACE", "opencode-docs")
    tests.write_text(f"rule_files:\n  - {rules.name}\n{text}")
    result = subprocess.run(
        [str(promtool()), "test", "rules", str(tests)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
