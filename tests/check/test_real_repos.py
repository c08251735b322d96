"""`ocw check` on real Flux repositories of several layouts (tests/fixtures), each compared with what was recorded
and judged for it, and the cluster repository the tree is made for, alone and with the tree installed the way
scripts/README.md says."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from check.real_repo import (
    FIXTURES,
    TARGETS,
    TRUE,
    Target,
    accuracy,
    causes,
    copy_cluster,
    install_tree,
    plain,
    record,
    recorded,
    recording,
    stand_ins,
    without_verdicts,
)
from ocw.check import CheckReport, run_check
from ocw.check.rules import RULES
from ocw.errors import OcwError
from ocw.findings import Severity
from ocw.paths import user_cache_dir
from ocw.workspace import load_workspaces
from ocw.yamlio import YamlError, load_all_strict
from support.cli import run_ocw

WORKSPACE_APPS = {"opencode-flux", "opencode-ha"}
VOLSYNC_ES = "kubernetes/components/opencode-workspace/volsync/externalsecret.yaml"
FIXTURE_REPOSITORIES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
FIXTURE_YAML = {
    name: sorted(p for p in (FIXTURES / name).rglob("*") if p.suffix in (".yaml", ".yml"))
    for name in FIXTURE_REPOSITORIES
}
MIN_ACCURACY = 0.95


@pytest.fixture
def cluster(tmp_path: Path) -> Path:
    return copy_cluster(tmp_path / "k8s-cluster")


@pytest.fixture
def installed(cluster: Path) -> Path:
    install_tree(cluster)
    return cluster


def check(repo: Path, only: list[str] | None = None) -> CheckReport:
    return run_check(repo, only=only)


@pytest.mark.parametrize("target", TARGETS, ids=[t.label for t in TARGETS])
def test_a_real_repository_reports_what_was_recorded_and_judged(
    target: Target, tmp_path: Path, snapshot: SnapshotAssertion
) -> None:
    """Exactly the recorded causes (a new one, or one gone, fails), every error judged by a person, and at least
    95 % of them true: ocw is right about the repository. The text report reads as recorded too. What else a
    target's report must show is asserted on the same report (`ALSO_OF`): a second check of the same copy would
    only repeat it."""
    root = target.materialize(tmp_path / target.fixture)
    report = target.check(root)
    also = ALSO_OF.get(target.label)
    if also is not None:
        also(root, report)
    paths = stand_ins(root, user_cache_dir())
    assert plain(report.to_text(), paths) == snapshot
    found = causes(report, paths)
    if recording():
        record(target, found)
    assert found == without_verdicts(recorded(target))
    unjudged = [c for c in recorded(target) if c["severity"] == "error" and c.get("verdict") not in ("true", "false")]
    assert not unjudged, f"judge these errors in tests/fixtures/{target.fixture}/findings.json: {unjudged}"
    assert all(c["why"] for c in recorded(target) if c["severity"] == "error")
    true, errors = accuracy(found, target)
    assert errors == 0 or true / errors >= MIN_ACCURACY, f"{true} of {errors} errors are true"


def test_the_cluster_repository_keeps_its_two_true_errors_with_the_tree_installed() -> None:
    """The openwebui release waits on a HelmRelease that does not exist; home-assistant's policy targets a route name
    app-template does not make. Installing the tree adds no error of its own."""
    [alone, with_tree] = [recorded(Target("jbaker48-k8s-cluster", with_tree=tree)) for tree in (False, True)]
    errors = [(c["rule"], c["file"]) for c in with_tree if c["severity"] == "error"]
    assert errors == [(c["rule"], c["file"]) for c in alone if c["severity"] == "error"]
    assert ("link-depends-on", "kubernetes/apps/ai/openwebui/app/helmrelease.yaml") in errors
    assert ("link-traffic-policy-target", "kubernetes/apps/home/home-assistant/app/backendtrafficpolicy.yaml") in errors
    assert all(c["verdict"] == TRUE for c in with_tree if c["severity"] == "error")


def replace(path: Path, old: str, new: str) -> None:
    """Replace text in a real file; refuses when the text is not there, so a mutation can never be a no-op."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("repository", FIXTURE_REPOSITORIES)
def test_every_real_yaml_file_loads(repository: str) -> None:
    """Merge keys, anchors defined twice, the `=` value, `!env_var`, `{{ .X }}` as a key: Flux accepts them all (a
    file of comments only, like `flux bootstrap`'s placeholders, holds no document). One test per repository, not per
    file: the failure lists every file that does not load, with its error and line."""
    failures = []
    for path in FIXTURE_YAML[repository]:
        text = path.read_text()
        try:
            documents = load_all_strict(text)
        except YamlError as exc:
            failures.append(f"{path.relative_to(FIXTURES)}:{exc.line}: {exc.message}")
            continue
        content = [line for line in text.splitlines() if line.strip() and not line.startswith(("#", "---"))]
        if not documents and content:
            failures.append(f"{path.relative_to(FIXTURES)}: holds content but no document")
    assert FIXTURE_YAML[repository], f"tests/fixtures/{repository} holds no YAML file"
    assert not failures, "\n".join(failures)


def test_yaml_constructs_load_as_flux_reads_them() -> None:
    text = (
        "base: &base {a: 1, b: 2}\n"
        "merged:\n  <<: *base\n  b: 3\n"
        "matchType: =\n"
        "token: !env_var TOKEN\n"
        "? [x, y]\n: complex\n"
        "1: number key\n"
        "api_key: {{ .KEY }}\n"
        "names: [&n first, *n, &n second, *n]\n"
    )
    [document] = load_all_strict(text)
    assert document["merged"] == {"a": 1, "b": 3}  # an explicit key overrides the merged one
    assert document["matchType"] == "="
    assert document["token"] == "TOKEN"
    assert document["[x, y]"] == "complex"
    assert document[1] == "number key"
    assert document["api_key"] == {"{.KEY: null}": None}
    assert document["names"] == ["first", "first", "second", "second"]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (first defined at line 1)", 3),
        ("base: &b {x: 1}\nm:\n  <<: *b\n  y: 1\n  y: 2\n", "duplicate key 'y'", 5),
        ("a: [1, 2\n", "", 2),
        ("a: *nowhere\n", "undefined alias", 1),
        ("m:\n  <<: 5\n", "", 2),
    ],
)
def test_a_file_that_does_not_parse_is_one_error_with_its_line(text: str, message: str, line: int) -> None:
    with pytest.raises(YamlError) as caught:
        load_all_strict(text)
    assert message in caught.value.message
    assert caught.value.line == line


def the_cluster_repository_is_checked_from_its_bootstrap(_root: Path, report: CheckReport) -> None:
    assert report.entry == "flux/ folder kubernetes/flux/config/cluster.yaml (kubernetes/flux)"
    assert report.host == "https://github.com/jbaker48/k8s-cluster"  # its own description: it is that cluster
    # Variables come from the repository's own substituteFrom sources: no undefined-variable finding.
    assert report.var_sources == [
        "kubernetes/flux/vars/cluster-settings.yaml",
        "kubernetes/flux/vars/cluster-secrets.sops.yaml",
    ]
    assert not [f for f in report.findings if f.rule == "flux-undefined-variable"]
    # The project's policy is not applied to the cluster's own apps.
    assert not [f for f in report.findings if RULES[f.rule].workspace_only], report.to_text()
    # SOPS Secrets are not validated with their sops block.
    assert not [f for f in report.findings if "'sops'" in f.message]
    # Missing CRD schemas: never an error, and one cause per kind, placed at each object of that kind.
    missing = [c for c in report.causes if c.rule == "schema-missing"]
    assert missing and all(c.severity == Severity.WARNING for c in missing)
    kinds = [re.search(r"no schema for (\S+ \([^)]*\))", c.message) for c in missing]
    assert len({k.group(1) for k in kinds if k}) == len(missing)
    assert sum(len(c.places) for c in missing) == len([f for f in report.findings if f.rule == "schema-missing"])
    assert any(len(c.places) > 1 for c in missing)
    assert {s.name for s in report.per_kustomization} >= {"evcc", "mosquitto", "cloudflared", "envoy-gateway"}


def the_installed_tree_passes_in_the_real_repository(installed: Path, report: CheckReport) -> None:
    workspace = [f for f in report.findings if f.owner in WORKSPACE_APPS]
    # Their one warning, true and shared with the repository's own releases: the app-template version the tree pins
    # (the cluster's) is newer than the vendored source, so they are rendered with that until `ocw charts pull`.
    assert {f.owner for f in workspace} == WORKSPACE_APPS, report.to_text()
    assert all(f.rule == "helm-chart" and f.severity == Severity.WARNING for f in workspace), report.to_text()
    assert all(
        re.match(r"app-template \S+ is neither vendored nor cached: rendered with", f.message) for f in workspace
    )
    summaries = {s.name: s for s in report.per_kustomization}
    assert summaries["opencode-flux"].objects > 5 and summaries["opencode-flux"].errors == 0
    # SECRET_DOMAIN is encrypted: a placeholder that is obviously not a value keeps the hostnames valid.
    hostnames = {ws.name: ws.hostname for ws in load_workspaces(installed)}
    assert hostnames["opencode-flux"] == "flux.opencode.sops-encrypted-secret-domain"


def test_a_drifted_doppler_key_is_reported_with_the_clusters_name(installed: Path) -> None:
    replace(installed / VOLSYNC_ES, "VOLSYNC_REPOSITORY_TEMPLATE", "VOLSYNC_RESTIC_REPOSITORY")
    report = check(installed)
    drift = [f for f in report.errors if f.rule == "doppler-key-drift"]
    assert drift, report.to_text()
    assert {f.object for f in drift} == {
        "ExternalSecret/opencode/opencode-flux-volsync",
        "ExternalSecret/opencode/opencode-ha-volsync",
    }
    message = drift[0].message
    assert "VOLSYNC_RESTIC_REPOSITORY" in message
    assert (
        "kubernetes/templates/volsync/minio.yaml fills RESTIC_REPOSITORY with '{{ .VOLSYNC_REPOSITORY_TEMPLATE }}"
        in message
    )
    assert drift[0].file == VOLSYNC_ES


def test_the_namespace_prune_guard_is_required_in_the_real_repository(installed: Path) -> None:
    replace(
        installed / "kubernetes/apps/opencode/namespace.yaml", "kustomize.toolkit.fluxcd.io/prune: disabled", "x: y"
    )
    report = check(installed)
    guard = [f for f in report.errors if f.rule == "namespace-prune-guard"]
    assert [f.object for f in guard] == ["Namespace/opencode"], report.to_text()


def test_an_undefined_variable_is_still_an_error(cluster: Path) -> None:
    replace(cluster / "kubernetes/apps/home/mosquitto/app/helmrelease.yaml", "SVC_MOSQUITTO_ADDR", "SVC_MOSQUITO_ADDR")
    undefined = [f for f in check(cluster).errors if f.rule == "flux-undefined-variable"]
    assert undefined and "SVC_MOSQUITO_ADDR" in undefined[0].message, undefined
    assert "its substituteFrom sources" in undefined[0].message


def test_only_narrows_the_report_to_the_workspaces(installed: Path) -> None:
    report = check(installed, only=["opencode"])
    # Everything is built: the workspaces' routes attach to the repository's own Gateway, certificate included.
    assert report.ok, report.to_text()
    assert {s.name for s in report.per_kustomization} == WORKSPACE_APPS
    assert all(
        f.file.startswith(("kubernetes/apps/opencode", "kubernetes/components/opencode")) for f in report.findings
    )
    with pytest.raises(OcwError, match="names no Flux Kustomization"):
        check(installed, only=["no-such-app"])


def test_the_command_line_report_keeps_its_shape(installed: Path) -> None:
    result = run_ocw("check", "--repo", str(installed), "--json", timeout=120)
    assert result.code == 1, result.stdout + result.stderr  # the repository's own true errors
    document = json.loads(result.stdout)
    assert document["summary"]["errors"] == 5
    assert set(document) == {"findings", "summary", "kustomizations"}
    assert document["summary"]["vars_sources"][0] == "kubernetes/flux/vars/cluster-settings.yaml"
    row = next(k for k in document["kustomizations"] if k["name"] == "opencode-flux")
    assert row == {
        "name": "opencode-flux",
        "namespace": "opencode",
        "objects": row["objects"],
        "errors": 0,
        "warnings": 1,  # the app-template version it is rendered with (the test above)
    }
    unknown = run_ocw("check", "--repo", str(installed), "--only", "nothing-here", timeout=120)
    assert unknown.code == 2
    assert "nothing-here" in unknown.stderr and "opencode" in unknown.stderr


def the_cluster_description_applies_to_its_own_cluster_only(_root: Path, report: CheckReport) -> None:
    """Another repository is checked on its own: the description's objects would hide what it lacks."""
    assert report.host is None
    assert report.entry.startswith("FluxInstance kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml")


# What a target's own report shows beyond its record, asserted on the report the test above makes.
ALSO_OF: dict[str, Callable[[Path, CheckReport], None]] = {
    "jbaker48-k8s-cluster": the_cluster_repository_is_checked_from_its_bootstrap,
    "jbaker48-k8s-cluster+tree": the_installed_tree_passes_in_the_real_repository,
    "onedr0p-home-ops": the_cluster_description_applies_to_its_own_cluster_only,
}
