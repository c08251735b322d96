"""`ocw install` into a copy of the user's cluster repository: what it writes, what it leaves alone, and that the
result is what ocw check and ocw's workspace discovery accept."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from install.conftest import (
    AGGREGATOR,
    CERTIFICATES,
    CLUSTER_VARS,
    FIXTURE,
    GATEWAY,
    INSTALLED_FINDINGS,
    PROJECT,
    SCHEMAS,
    ClusterRepo,
    assert_installed,
    error_keys,
    finding_keys,
)
from ocw.check import CheckReport, run_check
from ocw.findings import Finding
from ocw.install.baseline import errors_before
from ocw.install.manifests import SEED_SCRIPT
from ocw.install.plan import FileChange
from ocw.workspace import load_workspaces
from support.cli import run_ocw, user_env


def project_files() -> list[str]:
    """What install copies: the project's tree and the Copilot seed script."""
    tree = PROJECT / "kubernetes"
    return sorted([*(str(p.relative_to(PROJECT)) for p in tree.rglob("*") if p.is_file()), str(SEED_SCRIPT)])


@pytest.fixture(scope="module")
def fixture_errors(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str, str]]:
    """The errors ocw check finds in the cluster repository before anything is installed: not install's doing."""
    root = tmp_path_factory.mktemp("pristine") / "repo"
    shutil.copytree(FIXTURE, root)
    (root.parent / "vars.yaml").write_text(CLUSTER_VARS)
    return error_keys(run_check(root, [root.parent / "vars.yaml"], SCHEMAS))


def test_a_fresh_install_writes_the_tree_and_the_two_host_entries(
    cluster: ClusterRepo, fixture_errors: set[tuple[str, str, str]]
) -> None:
    result = cluster.install("--json")
    outcome = result.json()

    for relative in project_files():
        assert (cluster.root / relative).read_bytes() == (PROJECT / relative).read_bytes(), relative
    assert outcome["files"]["created"] == sorted(project_files())
    assert outcome["files"]["updated"] == [CERTIFICATES, GATEWAY]
    assert outcome["files"]["refused"] == []
    assert outcome["written"] is True
    init = cluster.root / "kubernetes/components/opencode-workspace/scripts/init.sh"
    assert init.stat().st_mode & 0o100, "the scripts keep their executable bit"
    assert (cluster.root / SEED_SCRIPT).stat().st_mode & 0o100
    assert cluster.text(CERTIFICATES).endswith("  - ./staging.yaml\n  - ./production.yaml\n  - ./opencode.yaml\n")
    assert cluster.text(GATEWAY).endswith(
        "  - ./ocirepository.yaml\n"
        "patches:\n"
        "  - path: ./opencode-listener.yaml\n"
        "    target:\n"
        "      group: gateway.networking.k8s.io\n"
        "      kind: Gateway\n"
        "      name: envoy-internal\n"
    )
    # The check ran on the result: the workspaces, the certificate and the listener add no error to the repository's.
    report = cluster.check()
    assert error_keys(report) <= fixture_errors
    assert not [f for f in report.findings if f.rule in ("host-install", "link-gateway-listener")]
    assert {"opencode-flux", "opencode-ha", "envoy-gateway", "certificates-import"} <= set(report.kustomizations)
    assert outcome["check"]["errors"] == len(report.errors)
    # The fixture's own error was there before: install says so, and exits 0 because it added none.
    assert outcome["check"]["errors_added"] == 0
    assert {(f["rule"], f["file"], f["object"]) for f in outcome["check"]["errors_before"]} == fixture_errors
    assert result.code == 0, result.stderr
    assert outcome["workspaces"] == ["opencode-flux", "opencode-ha"]
    repo = str(cluster.root)
    assert outcome["next_steps"] == [
        f"create the Doppler variables of opencode-flux, opencode-ha (asks for each GitHub token): ocw secrets init "
        f"--repo {repo}",
        f"copy your Copilot login into them: {repo}/scripts/seed-copilot-auth.sh",
        f"review and commit: git -C {repo} add kubernetes/apps/network/certificates/app/kustomization.yaml "
        "kubernetes/apps/network/certificates/app/opencode.yaml "
        "kubernetes/apps/network/envoy-gateway/app/kustomization.yaml "
        "kubernetes/apps/network/envoy-gateway/app/opencode-listener.yaml kubernetes/apps/opencode "
        f"kubernetes/components/opencode-workspace scripts/seed-copilot-auth.sh && git -C {repo} commit -m "
        "'opencode workspaces'",
        f"push (Flux applies it), then, once reconciled: ocw verify --repo {repo}",
    ]


def test_install_tells_the_errors_it_added_from_those_there_before(cluster: ClusterRepo) -> None:
    staging = "kubernetes/apps/network/certificates/app/staging.yaml"
    result = cluster.install()
    assert "1 error(s) were in the repository before this install (not its doing):" in result.stdout
    assert f"  [link-issuer] {staging}: Certificate/network/example-com-staging" in result.stdout
    assert "the install added no error" in result.stdout
    assert "next steps:\n  1. create the Doppler variables" in result.stdout


def test_errors_are_split_into_those_before_the_install_and_those_it_added(cluster: ClusterRepo) -> None:
    # The "before" side is the repository as it was: each written file put back (a created one removed) in a copy.
    created = FileChange(PurePosixPath("kubernetes/apps/opencode/namespace.yaml"), None, b"new")
    updated = FileChange(PurePosixPath(CERTIFICATES), cluster.text(CERTIFICATES).encode(), b"changed")
    (cluster.root / created.path).parent.mkdir(parents=True)
    (cluster.root / created.path).write_bytes(created.after)
    (cluster.root / updated.path).write_bytes(updated.after)
    old = Finding("a.yaml", "link-issuer", "Certificate/x", "there before")
    new = Finding("kubernetes/apps/opencode/namespace.yaml", "schema-core", "Namespace/opencode", "added")
    seen: list[tuple[bool, bytes]] = []

    def check_before(copy: Path) -> CheckReport:
        seen.append(((copy / created.path).exists(), (copy / updated.path).read_bytes()))
        return CheckReport(copy, [old], [], "", "", [])

    after = CheckReport(cluster.root, [old, new], [], "", "", [])
    baseline = errors_before(cluster.root, [created, updated], after, check_before)

    assert seen == [(False, updated.before)]
    assert (baseline.before, baseline.added) == ([old], [new])
    assert "the install added 1 error(s)" in baseline.to_text()
    assert (cluster.root / updated.path).read_bytes() == b"changed", "the repository itself is left as it is"


def test_a_second_run_changes_nothing_and_says_so(installed: ClusterRepo) -> None:
    before = installed.snapshot()
    result = installed.install()
    assert installed.snapshot() == before
    # Every file of the project's tree and the seed script, and the two host kustomizations it edits.
    files = len(project_files()) + 2
    assert f"nothing to change: all {files} file(s) are installed as they are" in result.stdout
    assert "created" not in result.stdout
    assert "updated" not in result.stdout


def test_dry_run_writes_nothing_and_its_diff_is_what_install_does(cluster: ClusterRepo, tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(cluster.root, twin)
    before = cluster.snapshot()

    result = cluster.install("--dry-run")

    assert result.code == 0
    assert cluster.snapshot() == before
    assert f"--- a/{CERTIFICATES}\n+++ b/{CERTIFICATES}\n" in result.stdout
    assert "+  - ./opencode.yaml\n" in result.stdout
    assert "--- /dev/null\n+++ b/kubernetes/components/opencode-workspace/helmrelease.yaml\n" in result.stdout
    assert "would be created   kubernetes/apps/opencode/opencode-flux/ks.yaml" in result.stdout
    assert "running ocw check" not in result.stderr, "a dry run checks nothing: nothing was written"
    # The diff is exact: applied with git to an untouched copy, it gives what a real install writes.
    patch = "".join(line for line in result.stdout.splitlines(keepends=True) if not line.startswith("would be "))
    subprocess.run(["git", "apply", "-p1", "--unsafe-paths", "-"], cwd=twin, input=patch, text=True, check=True)
    cluster.install()
    files = {path: content for path, (content, _) in cluster.snapshot().items()}
    twin_files = {str(p.relative_to(twin)): p.read_bytes() for p in twin.rglob("*") if p.is_file()}
    assert twin_files == files


def test_a_file_the_user_changed_is_refused_and_only_force_replaces_it(installed: ClusterRepo) -> None:
    helmrelease = "kubernetes/components/opencode-workspace/helmrelease.yaml"
    mine = installed.text(helmrelease).replace("replicas: 1", "replicas: 1  # mine", 1)
    assert mine != installed.text(helmrelease)
    installed.write(helmrelease, mine)
    (installed.root / "kubernetes/apps/opencode/namespace.yaml").unlink()  # would be recreated if anything were written
    before = installed.snapshot()

    refused = installed.install()

    assert refused.code == 2
    assert installed.snapshot() == before, "a refusal writes nothing at all"
    assert f"--- a/{helmrelease}" in refused.stdout
    assert re.search(r"^-\s+replicas: 1  # mine$", refused.stdout, re.MULTILINE)
    assert "would be created   kubernetes/apps/opencode/namespace.yaml" in refused.stdout
    assert f"refused            {helmrelease}" in refused.stdout
    assert "--force" in refused.stderr
    as_json = installed.install("--json")
    assert as_json.code == 2
    assert as_json.json()["files"]["refused"] == [helmrelease]
    assert as_json.json()["written"] is False
    assert "kubernetes/apps/opencode/namespace.yaml" in as_json.json()["files"]["created"]
    assert "# mine" in as_json.json()["diffs"][helmrelease]
    assert installed.snapshot() == before

    forced = installed.install("--force")

    assert finding_keys(installed.check()) == INSTALLED_FINDINGS
    # Before --force the workspaces' folder did not build (its namespace.yaml was gone), so Flux's graph never
    # reached the certificates app and its own error: install cannot tell that one apart, and says it added it.
    assert forced.code == 1 and "the install added 1 error(s)" in forced.stdout
    assert installed.text(helmrelease) == (PROJECT / helmrelease).read_text()
    assert (installed.root / "kubernetes/apps/opencode/namespace.yaml").is_file()
    assert f"updated            {helmrelease}" in forced.stdout


def test_a_third_workspace_is_found_by_check_and_by_workspace_discovery(
    installed: ClusterRepo, fixture_errors: set[tuple[str, str, str]]
) -> None:
    result = installed.install("--workspace", "docs", "--repository", "https://github.com/jbaker48/docs.git", "--json")
    outcome = result.json()
    assert outcome["files"]["refused"] == [], result.stderr

    assert outcome["files"]["created"] == [
        "kubernetes/apps/opencode/opencode-docs/app/kustomization.yaml",
        "kubernetes/apps/opencode/opencode-docs/ks.yaml",
    ]
    assert outcome["files"]["updated"] == [AGGREGATOR]
    assert outcome["workspaces"] == ["opencode-docs", "opencode-flux", "opencode-ha"]
    assert outcome["workspace"] == {
        "app": "opencode-docs",
        "host": "docs",
        "secret_prefix": "OPENCODE_DOCS",
        "repository": "https://github.com/jbaker48/docs.git",
        "dir": "/Users/jbaker/git/docs",  # beside the other two clones
        "schedule": "30 * * * *",  # 35 and 45 are taken
    }
    assert installed.text(AGGREGATOR).endswith(
        "resources:\n  - ./namespace.yaml\n  - ./opencode-docs/ks.yaml\n  - ./opencode-flux/ks.yaml\n"
        "  - ./opencode-ha/ks.yaml\n"
    )
    ks = installed.text("kubernetes/apps/opencode/opencode-docs/ks.yaml")
    flux = installed.text("kubernetes/apps/opencode/opencode-flux/ks.yaml")
    assert ks.splitlines()[:2] == flux.splitlines()[:2], "the same schema comment"
    assert "  name: &app opencode-docs\n" in ks
    assert "      APP: *app\n" in ks
    assert '      VOLSYNC_SCHEDULE: "30 * * * *"\n' in ks
    report = installed.check()
    assert error_keys(report) <= fixture_errors
    assert not [f for f in report.errors if f.owner == "opencode-docs"]
    assert result.code == 0, "the errors were there before: the fixture's own"
    docs = next(ws for ws in load_workspaces(installed.root, [installed.vars_file]) if ws.name == "opencode-docs")
    assert docs.url == "https://docs.opencode.example.com"
    assert docs.working_dir == "/Users/jbaker/git/docs"
    assert docs.doppler_keys["PASSWORD"] == "OPENCODE_DOCS_PASSWORD"

    # The same request again is a no-op; the next workspace takes the next free minute.
    before = installed.snapshot()
    again = installed.install("--workspace", "opencode-docs", "--repository", "https://github.com/jbaker48/docs.git")
    assert installed.snapshot() == before
    assert "nothing to change" in again.stdout
    fourth = installed.install("--workspace", "notes", "--repository", "https://github.com/jbaker48/notes", "--json")
    assert fourth.json()["workspace"]["schedule"] == "40 * * * *"
    assert fourth.json()["workspace"]["dir"] == "/Users/jbaker/git/notes"
    plain = installed.install("--json")
    assert plain.json()["files"]["created"] == [] and plain.json()["files"]["updated"] == []
    assert plain.json()["workspaces"] == ["opencode-docs", "opencode-flux", "opencode-ha", "opencode-notes"]


def test_the_host_files_keep_their_comments_order_and_style(cluster: ClusterRepo) -> None:
    cluster.write(
        CERTIFICATES,
        "---\n"
        "# yaml-language-server: $schema=https://json.schemastore.org/kustomization\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "# certificates for the whole domain\n"
        "resources:\n"
        "- ./staging.yaml   # letsencrypt staging, for tests\n"
        "\n"
        '- "./production.yaml"\n'
        "# more to come\n"
        "labels:\n"
        "- pairs: {team: network}\n",
    )
    cluster.write(
        GATEWAY,
        "---\n"
        "# yaml-language-server: $schema=https://json.schemastore.org/kustomization\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "patches:\n"
        "    # keep envoy quiet\n"
        "    - target: {kind: EnvoyProxy, name: envoy}\n"
        "      patch: |-\n"
        "        - op: replace\n"
        "          path: /spec/logging/level/default\n"
        "          value: warn\n"
        "resources:\n"
        "    - ./ocirepository.yaml\n"
        "    - ./envoy.yaml\n"
        "    - ./helmrelease.yaml\n"
        "    - ./observability.yaml\n",
    )

    result = cluster.install()

    assert_installed(cluster, result)
    assert cluster.text(CERTIFICATES) == (
        "---\n"
        "# yaml-language-server: $schema=https://json.schemastore.org/kustomization\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "# certificates for the whole domain\n"
        "resources:\n"
        "- ./staging.yaml   # letsencrypt staging, for tests\n"
        "\n"
        '- "./production.yaml"\n'
        "- ./opencode.yaml\n"
        "# more to come\n"
        "labels:\n"
        "- pairs: {team: network}\n"
    )
    assert cluster.text(GATEWAY) == (
        "---\n"
        "# yaml-language-server: $schema=https://json.schemastore.org/kustomization\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "patches:\n"
        "    # keep envoy quiet\n"
        "    - target: {kind: EnvoyProxy, name: envoy}\n"
        "      patch: |-\n"
        "        - op: replace\n"
        "          path: /spec/logging/level/default\n"
        "          value: warn\n"
        "    - path: ./opencode-listener.yaml\n"
        "      target:\n"
        "        group: gateway.networking.k8s.io\n"
        "        kind: Gateway\n"
        "        name: envoy-internal\n"
        "resources:\n"
        "    - ./ocirepository.yaml\n"
        "    - ./envoy.yaml\n"
        "    - ./helmrelease.yaml\n"
        "    - ./observability.yaml\n"
    )
    report = cluster.check()
    assert not [f for f in report.errors if f.rule in ("host-install", "link-gateway-listener", "kustomize-build")]
    before = cluster.snapshot()
    assert "nothing to change" in cluster.install().stdout
    assert cluster.snapshot() == before


def test_a_host_file_in_an_unknown_shape_is_refused_with_nothing_written(cluster: ClusterRepo) -> None:
    flow = cluster.text(CERTIFICATES).replace(
        "resources:\n  - ./staging.yaml\n  - ./production.yaml\n", "resources: [./staging.yaml, ./production.yaml]\n"
    )
    assert flow != cluster.text(CERTIFICATES)
    cluster.write(CERTIFICATES, flow)
    before = cluster.snapshot()

    result = cluster.install()

    assert result.code == 2
    assert cluster.snapshot() == before
    assert CERTIFICATES in result.stderr
    assert "expected `resources:` followed by a block list" in result.stderr
    assert "Nothing was written" in result.stderr


BAD_INPUTS = {
    "plain http": ["--workspace", "docs", "--repository", "http://github.com/o/docs.git"],
    "ssh": ["--workspace", "docs", "--repository", "git@github.com:o/docs.git"],
    "credentials in the URL": ["--workspace", "docs", "--repository", "https://x-access-token:abc@github.com/o/d.git"],
    "relative dir": ["--workspace", "docs", "--repository", "https://github.com/o/docs.git", "--dir", "git/docs"],
    "dir with ..": ["--workspace", "docs", "--repository", "https://github.com/o/docs.git", "--dir", "/Users/a/../b"],
    "existing app name": ["--workspace", "flux", "--repository", "https://github.com/o/other.git"],
    "bad name": ["--workspace", "Docs_1", "--repository", "https://github.com/o/docs.git"],
    "host in use": ["--workspace", "docs", "--repository", "https://github.com/o/docs.git", "--host", "ha"],
    "no --workspace": ["--repository", "https://github.com/o/docs.git"],
    "no --repository": ["--workspace", "docs"],
}


@pytest.mark.parametrize("args", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
@pytest.mark.parametrize("state", ["cluster", "installed"], ids=["fresh", "installed"])
def test_bad_input_exits_2_with_nothing_written(state: str, args: list[str], request: pytest.FixtureRequest) -> None:
    cluster: ClusterRepo = request.getfixturevalue(state)
    before = cluster.snapshot()

    result = cluster.install(*args)

    assert result.code == 2, result.stderr
    assert cluster.snapshot() == before
    assert "ocw install: error: " in result.stderr
    assert "abc" not in result.stderr + result.stdout, "a credential given by mistake is never echoed"


def test_run_inside_this_project_without_repo_it_refuses_to_install_into_itself() -> None:
    result = run_ocw("install", "--dry-run", cwd=PROJECT / "kubernetes" / "apps", env=user_env(without=["OCW_REPO"]))

    assert result.code == 2
    assert "is the tree ocw installs from, not a cluster repository" in result.stderr
