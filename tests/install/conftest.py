"""A copy of the cluster repository fixture (tests/fixtures/k8s-cluster-min) to install into, and `ocw install` run
through the real command line."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from check.tree_copy import SHARED_SCHEMAS
from ocw.check import CheckReport, run_check
from ocw.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "k8s-cluster-min"
PROJECT = Path(__file__).resolve().parents[2]
CERTIFICATES = "kubernetes/apps/network/certificates/app/kustomization.yaml"
GATEWAY = "kubernetes/apps/network/envoy-gateway/app/kustomization.yaml"
AGGREGATOR = "kubernetes/apps/opencode/kustomization.yaml"
# The schemas ocw check validates with: beside the checkout as tests/check reads them (OCW_TEST_SCHEMAS overrides,
# e.g. in a second worktree of the repository).
SCHEMAS = Path(os.environ.get("OCW_TEST_SCHEMAS") or SHARED_SCHEMAS)
# The variables the fixture's host apps use (the cluster's own values are secret; these are stand-ins).
CLUSTER_VARS = "SECRET_DOMAIN: example.com\nSVC_INTERNAL_GW_ADDR: 10.20.0.21\nSVC_EXTERNAL_GW_ADDR: 10.20.0.22\n"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data


@dataclass
class ClusterRepo:
    root: Path
    vars_file: Path
    capsys: pytest.CaptureFixture[str]

    def install(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = main(
            ["install", "--repo", str(self.root), "--vars", str(self.vars_file), "--schemas", str(SCHEMAS), *args]
        )
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

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


def copy_fixture(destination: Path, capsys: pytest.CaptureFixture[str]) -> ClusterRepo:
    if not SCHEMAS.is_dir():
        pytest.fail(f"the schemas are expected at {SCHEMAS} (a copy of shared/ beside the clone, or OCW_TEST_SCHEMAS)")
    shutil.copytree(FIXTURE, destination)
    vars_file = destination.parent / f"{destination.name}-vars.yaml"
    vars_file.write_text(CLUSTER_VARS)
    return ClusterRepo(destination, vars_file, capsys)


@pytest.fixture
def cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> ClusterRepo:
    return copy_fixture(tmp_path / "k8s-cluster", capsys)


@pytest.fixture
def installed(cluster: ClusterRepo) -> ClusterRepo:
    result = cluster.install()
    assert result.code in (0, 1), result.err
    return cluster


def error_keys(report: CheckReport) -> set[tuple[str, str, str]]:
    return {(f.rule, f.file, f.object) for f in report.errors}
