"""`ocw check` as a user runs it: the real tree passes, every finding of a broken tree is reported, the output
formats, the exit codes, and what happens when a schema or a tool is missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from check.tree_copy import COMPONENT, HELMRELEASE, REPO, TreeCopy, error_rules, errors, strict_helmrelease_schema
from ocw.install.host import HOST_DESCRIPTION
from ocw.schemas.catalog import VENDORED_SCHEMAS
from support.cli import CliResult, run_ocw, user_env

LISTENER_PATCH = "kubernetes/apps/network/envoy-gateway/app/opencode-listener.yaml"


def ocw_check(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """The command line on a copy of the tree, in the cluster the tree is made for (--host)."""
    return run_ocw("check", "--host", str(HOST_DESCRIPTION), *args, env=user_env(env, without=()), timeout=120)


def test_the_projects_own_tree_passes() -> None:
    result = ocw_check("--repo", str(REPO))
    assert result.code == 0, result.stdout + result.stderr
    assert "ok: 0 error(s)" in result.stdout
    assert "cluster-vars.example.yaml" in result.stdout  # says which variables it used


def test_json_output_lists_findings_and_a_summary(tree: TreeCopy) -> None:
    tree.replace(HELMRELEASE, "memory: 1Gi", "memory: 512Mi")
    result = ocw_check("--repo", str(tree.root), "--json")
    assert result.code == 1, result.stderr
    document = json.loads(result.stdout)
    finding = next(f for f in document["findings"] if f["rule"] == "sec05-resources")
    assert set(finding) >= {"rule", "severity", "file", "object", "message", "count", "places"}
    assert finding["file"] == HELMRELEASE
    assert finding["object"] == "HelmRelease/opencode/opencode-flux"
    # One cause, two places: both workspaces share the component.
    assert finding["count"] == 2
    assert [place["object"] for place in finding["places"]] == [
        "HelmRelease/opencode/opencode-flux",
        "HelmRelease/opencode/opencode-ha",
    ]
    assert document["summary"]["error_places"] >= 2
    assert document["summary"]["vars_files"] == [str(tree.root / "cluster-vars.example.yaml")]


def test_every_finding_is_reported_grouped_by_file(tree: TreeCopy) -> None:
    tree.replace(HELMRELEASE, "strategy: Recreate", "strategy: RollingUpdate")
    tree.replace(f"{COMPONENT}/pvc.yaml", "    - ReadWriteOnce", "    - ReadWriteMany")
    tree.replace("kubernetes/apps/opencode/opencode-ha/ks.yaml", "    - name: volsync", "    - name: volsink")
    result = ocw_check("--repo", str(tree.root))
    assert result.code == 1
    out = result.stdout
    for rule in ("single-writer", "sec04-volume", "link-depends-on"):
        assert f"[{rule}]" in out
    # Grouped: the file name on its own line, its findings indented below it.
    assert f"\n{HELMRELEASE}\n  error [single-writer]" in out
    assert "\nkubernetes/apps/opencode/opencode-ha/ks.yaml\n  error [link-depends-on]" in out
    assert out.rstrip().splitlines()[-1].startswith("FAILED: ")
    assert "following Flux's graph" in result.stderr  # progress goes to stderr


def test_a_token_in_the_tree_is_reported_without_being_printed(tree: TreeCopy) -> None:
    token = "ghp_" + "Zq7" * 12
    tree.replace("kubernetes/apps/opencode/namespace.yaml", "---\n", f"---\n# {token}\n")
    result = ocw_check("--repo", str(tree.root))
    assert result.code == 1
    assert "[sec01-secret-in-manifest]" in result.stdout
    assert token not in result.stdout + result.stderr


def test_a_missing_schemas_directory_stops_the_run(tree: TreeCopy) -> None:
    result = ocw_check("--repo", str(tree.root), "--schemas", str(tree.root / "no-such-dir"))
    assert result.code == 2
    assert "--schemas expects a directory" in result.stderr


def test_without_any_kustomize_it_says_what_it_found_and_how_to_install_one(tree: TreeCopy, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = ocw_check("--repo", str(tree.root), env={"OCW_TOOLS_DIR": str(empty), "PATH": str(empty)})
    assert result.code == 2
    assert "no usable kustomize" in result.stderr
    assert f"pinned kubectl {empty / 'bin' / 'kubectl'}: absent" in result.stderr
    assert "kubectl on PATH: not found" in result.stderr and "kustomize on PATH: not found" in result.stderr
    assert "kubectl >= v1.27" in result.stderr and "kustomize >= v5.0.0" in result.stderr
    assert "make setup" in result.stderr


PODMONITOR = """---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: ${APP}
spec:
  selector: {}
"""
PODMONITORS = ["PodMonitor/opencode/opencode-flux", "PodMonitor/opencode/opencode-ha"]
PODMONITOR_FILE = "crds/monitoring.coreos.com/podmonitor_v1.json"


def add_podmonitor(tree: TreeCopy) -> None:
    """A custom resource whose CRD schema is not vendored."""
    tree.write(f"{COMPONENT}/podmonitor.yaml", PODMONITOR)
    tree.replace(f"{COMPONENT}/kustomization.yaml", "  - ./pvc.yaml\n", "  - ./pvc.yaml\n  - ./podmonitor.yaml\n")


def test_a_crd_schema_in_no_layer_is_named_with_how_to_provide_it(tree: TreeCopy, tmp_path: Path) -> None:
    add_podmonitor(tree)
    schemas = tmp_path / "schemas"
    (schemas / "crds").mkdir(parents=True)
    from ocw.check import run_check

    report = run_check(tree.root, schemas_dir=schemas)
    missing = errors(report, "schema-missing")
    assert sorted(f.object for f in missing) == PODMONITORS
    assert str(schemas / PODMONITOR_FILE) in missing[0].message
    assert "Add crds/monitoring.coreos.com/podmonitor_v1.json" in missing[0].message
    # Everything else came from the vendored schemas behind the (nearly empty) --schemas directory.
    assert report.objects_validated > 20


def test_offline_a_schema_not_vendored_says_the_download_failed(tree: TreeCopy) -> None:
    add_podmonitor(tree)  # the catalog is unreachable: conftest points it at loopback's discard port
    result = ocw_check("--repo", str(tree.root), "--json")
    assert result.code == 1, result.stderr
    missing = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "schema-missing"]
    assert sorted(place["object"] for f in missing for place in f["places"]) == PODMONITORS
    assert "download failed: 127.0.0.1 could not be reached" in missing[0]["message"]
    assert "--schemas" in missing[0]["message"]


def test_the_vendored_schemas_make_the_check_work_offline(tree: TreeCopy) -> None:
    result = ocw_check("--repo", str(tree.root), "--json")
    assert result.code == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert not [f for f in document["findings"] if f["rule"].startswith("schema-")]
    assert document["summary"]["objects_validated"] > 20
    assert str(VENDORED_SCHEMAS) in result.stdout


def test_the_cache_takes_precedence_over_the_vendored_schemas(tree: TreeCopy, private_schema_cache: Path) -> None:
    strict_helmrelease_schema(private_schema_cache)
    result = ocw_check("--repo", str(tree.root), "--json")
    assert result.code == 1
    crd_errors = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "schema-crd"]
    assert {place["object"] for f in crd_errors for place in f["places"]} == {
        "HelmRelease/opencode/opencode-flux",
        "HelmRelease/opencode/opencode-ha",
        # The host description's monitoring HelmReleases are validated too.
        "HelmRelease/observability/blackbox-exporter",
        "HelmRelease/observability/grafana",
        "HelmRelease/observability/kube-prometheus-stack",
    }
    assert all("'ocwRequiredMarker' is a required property" in f["message"] for f in crd_errors)


def test_a_schemas_directory_overrides_the_cache_and_extends_the_vendored_ones(
    tree: TreeCopy, private_schema_cache: Path, tmp_path: Path
) -> None:
    strict_helmrelease_schema(private_schema_cache)
    mine = tmp_path / "mine"
    relative = "crds/helm.toolkit.fluxcd.io/helmrelease_v2.json"
    (mine / relative).parent.mkdir(parents=True)
    shutil.copy(VENDORED_SCHEMAS / relative, mine / relative)
    result = ocw_check("--repo", str(tree.root), "--schemas", str(mine), "--json")
    assert result.code == 0, result.stdout
    assert json.loads(result.stdout)["summary"]["objects_validated"] > 20


def test_without_the_listener_patch_the_route_does_not_attach(tree: TreeCopy) -> None:
    tree.remove(LISTENER_PATCH)
    report = tree.check()
    found = errors(report, "link-gateway-listener")
    assert {f.object.split(" ")[0] for f in found} == {
        "HTTPRoute/opencode/opencode-flux",
        "HTTPRoute/opencode/opencode-ha",
    }
    message = found[0].message
    assert "sectionName 'https-opencode'" in message
    assert "Gateway network/envoy-internal has no such listener (its listeners: http, https)" in message
    assert LISTENER_PATCH in message
    assert errors(report, "host-install"), "the missing install file is named too"


def test_quantities_are_compared_as_quantities(tree: TreeCopy) -> None:
    tree.replace(HELMRELEASE, "cpu: 100m", 'cpu: "0.1"')
    tree.replace(HELMRELEASE, "memory: 1Gi", "memory: 1024Mi")
    tree.replace("kubernetes/apps/opencode/opencode-flux/ks.yaml", "VOLSYNC_CAPACITY: 5Gi", "VOLSYNC_CAPACITY: 5120Mi")
    report = tree.check()
    assert not {"sec04-volume", "sec05-resources"} & error_rules(report)


def test_a_configmap_opted_out_of_substitution_may_carry_dollar_braces(tree: TreeCopy) -> None:
    tree.replace(f"{COMPONENT}/scripts/init.sh", "#!/bin/sh\n", '#!/bin/sh\necho "${HOME}"\n')
    tree.replace(
        f"{COMPONENT}/kustomization.yaml",
        "  disableNameSuffixHash: true\n",
        "  disableNameSuffixHash: true\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n",
    )
    report = tree.check()
    assert "flux-script-substitution" not in error_rules(report)


def test_each_pod_security_gap_is_reported_separately(tree: TreeCopy) -> None:
    tree.replace(HELMRELEASE, "        seccompProfile:\n          type: RuntimeDefault\n", "")
    tree.replace(HELMRELEASE, "              allowPrivilegeEscalation: false\n", "")
    report = tree.check(only=["opencode-flux"])
    messages = [f.message for f in errors(report, "pod-security-restricted")]
    # Two containers share the anchored securityContext: each gap for each container, no more.
    assert sum("seccomp" in m for m in messages) == 2
    assert sum("allowPrivilegeEscalation" in m for m in messages) == 2
    assert len(messages) == 4


def test_findings_can_be_narrowed_to_one_workspace(tree: TreeCopy) -> None:
    tree.replace("kubernetes/apps/opencode/opencode-ha/ks.yaml", "VOLSYNC_CAPACITY: 5Gi", "VOLSYNC_CAPACITY: 512Mi")
    report = tree.check()
    assert any(f.object == "HelmRelease/opencode/opencode-ha" for f in errors(report, "sec04-volume"))
    assert not [f for f in report.for_kustomization("opencode-flux") if f.rule == "sec04-volume"]
    assert [f for f in report.for_kustomization("opencode-ha") if f.rule == "sec04-volume"]
