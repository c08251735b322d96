"""A copy of the cluster repository fixture (tests/fixtures/k8s-cluster-min) to install into, and `ocw install` run
through the real command line."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from check.conftest import shared_caches
from ocw.check import CheckReport, run_check
from ocw.schemas.catalog import VENDORED_SCHEMAS
from support import schema_cache
from support.cli import CliResult, run_ocw
from support.wheel import shared_wheel

__all__ = ["shared_caches"]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "k8s-cluster-min"
PROJECT = Path(__file__).resolve().parents[2]
# ocw check validates with the vendored schemas, named explicitly so that a kind none of them covers (the fixture's
# host apps have a few) is reported, never downloaded.
SCHEMAS = VENDORED_SCHEMAS
CERTIFICATES = "kubernetes/apps/network/certificates/app/kustomization.yaml"
GATEWAY = "kubernetes/apps/network/envoy-gateway/app/kustomization.yaml"
AGGREGATOR = "kubernetes/apps/opencode/kustomization.yaml"
# The variables the fixture's host apps use (the cluster's own values are secret; these are stand-ins).
CLUSTER_VARS = "SECRET_DOMAIN: example.com\nSVC_INTERNAL_GW_ADDR: 10.20.0.21\nSVC_EXTERNAL_GW_ADDR: 10.20.0.22\n"


@dataclass
class ClusterRepo:
    root: Path
    vars_file: Path

    def install(self, *args: str) -> CliResult:
        return run_ocw(
            "install", "--repo", str(self.root), "--vars", str(self.vars_file), "--schemas", str(SCHEMAS), *args
        )

    def text(self, relative: str) -> str:
        return (self.root / relative).read_text()

    def write(self, relative: str, text: str) -> None:
        (self.root / relative).write_text(text)

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        """Every file with its content and mode: two equal snapshots mean nothing was written."""
        return {
            str(p.relative_to(self.root)): (p.read_bytes(), p.stat().st_mode)
            for p in sorted(self.root.rglob("*"))
            if p.is_file()
        }

    def check(self) -> CheckReport:
        return run_check(self.root, [self.vars_file], SCHEMAS)


def copy_fixture(destination: Path, source: Path = FIXTURE) -> ClusterRepo:
    shutil.copytree(source, destination)
    vars_file = destination.parent / f"{destination.name}-vars.yaml"
    vars_file.write_text(CLUSTER_VARS)
    return ClusterRepo(destination, vars_file)


@pytest.fixture(autouse=True)
def private_schema_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_caches: Path) -> Path:
    """ocw check inside install validates with the vendored schemas only, offline (its helm renders, kustomize
    builds and verdicts are the run's)."""
    return schema_cache.private_schema_cache(tmp_path, monkeypatch, shared_caches)


@pytest.fixture(scope="session")
def ocw_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ocw's wheel, built once for the run."""
    return shared_wheel(tmp_path_factory)


@pytest.fixture
def cluster(tmp_path: Path) -> ClusterRepo:
    return copy_fixture(tmp_path / "k8s-cluster")


ENVOY = "kubernetes/apps/network/envoy-gateway/app"
# Every cause `ocw check` reports on the fixture with the tree installed, recorded: (severity, rule, file, object,
# count) of its first place.
# The one error is the fixture's own (its staging Certificate names an issuer the host cluster lacks); the warnings
# are what cannot be checked offline (kinds without a vendored schema, charts that are not vendored) and the
# stand-in version of app-template.
INSTALLED_FINDINGS = {
    (
        "error",
        "link-issuer",
        "kubernetes/apps/network/certificates/app/staging.yaml",
        "Certificate/network/example-com-staging",
        1,
    ),
    ("warning", "schema-missing", f"{ENVOY}/envoy.yaml", "EnvoyProxy/network/envoy", 2),
    ("warning", "schema-missing", f"{ENVOY}/envoy.yaml", "GatewayClass/envoy", 1),
    ("warning", "schema-missing", f"{ENVOY}/observability.yaml", "PodMonitor/network/envoy-proxy", 1),
    ("warning", "schema-missing", f"{ENVOY}/observability.yaml", "ServiceMonitor/network/envoy-gateway", 1),
    ("warning", "helm-chart", f"{ENVOY}/helmrelease.yaml", "HelmRelease/network/envoy-gateway", 1),
    (
        "warning",
        "helm-chart",
        "kubernetes/components/opencode-workspace/helmrelease.yaml",
        "HelmRelease/opencode/opencode-flux",
        2,
    ),
}


def finding_keys(report: CheckReport) -> set[tuple[str, str, str, str, int]]:
    return {(str(c.severity), c.rule, c.first.file, c.first.object, len(c.places)) for c in report.causes}


def assert_installed(cluster: ClusterRepo, result: CliResult) -> None:
    """The install went through and its check found exactly the recorded findings; the one error was the fixture's
    before the install, so it exits 0."""
    assert finding_keys(cluster.check()) == INSTALLED_FINDINGS
    assert result.code == 0, result.stderr


@pytest.fixture(scope="session")
def installed_once(tmp_path_factory: pytest.TempPathFactory, shared_caches: Path) -> ClusterRepo:
    """The fixture with the tree installed through the real command line and checked, once in each worker, with a
    cache of its own as every test has."""
    folder = tmp_path_factory.mktemp("installed")
    with pytest.MonkeyPatch.context() as patch:
        schema_cache.private_schema_cache(folder, patch, shared_caches)
        cluster = copy_fixture(folder / "k8s-cluster")
        assert_installed(cluster, cluster.install())
    return cluster


@pytest.fixture
def installed(installed_once: ClusterRepo, tmp_path: Path) -> ClusterRepo:
    """A copy of the installed repository, this test's to change: the same files as its own install would write."""
    return copy_fixture(tmp_path / "k8s-cluster", installed_once.root)


def error_keys(report: CheckReport) -> set[tuple[str, str, str]]:
    return {(f.rule, f.file, f.object) for f in report.errors}
