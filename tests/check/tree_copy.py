"""A copy of the project's real tree in a temporary directory, to break on purpose one rule at a time."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ocw.check import CheckReport, run_check
from ocw.findings import Finding
from ocw.install.host import HOST_DESCRIPTION
from ocw.schemas.catalog import VENDORED_SCHEMAS

REPO = Path(__file__).resolve().parents[2]
COMPONENT = "kubernetes/components/opencode-workspace"
HELMRELEASE = f"{COMPONENT}/helmrelease.yaml"
FLUX_KS = "kubernetes/apps/opencode/opencode-flux/ks.yaml"


@dataclass
class TreeCopy:
    root: Path

    def text(self, relative: str) -> str:
        return (self.root / relative).read_text()

    def replace(self, relative: str, old: str, new: str) -> None:
        """Replace text in a real file; refuses when the text is not there, so a mutation can never be a no-op."""
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{old!r} is not in {relative}: the mutation would change nothing"
        path.write_text(text.replace(old, new, 1))

    def remove(self, relative: str) -> None:
        (self.root / relative).unlink()

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def check(self, only: list[str] | None = None) -> CheckReport:
        """The check of the copy in the cluster the tree is made for (--host: the copy is not ocw's own checkout)."""
        return run_check(self.root, only=only, host_description=HOST_DESCRIPTION)


def copy_tree(destination: Path) -> TreeCopy:
    shutil.copytree(REPO / "kubernetes", destination / "kubernetes")
    shutil.copy(REPO / "cluster-vars.example.yaml", destination / "cluster-vars.example.yaml")
    return TreeCopy(destination)


def errors(report: CheckReport, rule: str) -> list[Finding]:
    return [f for f in report.errors if f.rule == rule]


def error_rules(report: CheckReport) -> set[str]:
    return {f.rule for f in report.errors}


HELMRELEASE_SCHEMA = "crds/helm.toolkit.fluxcd.io/helmrelease_v2.json"


def strict_helmrelease_schema(schemas_dir: Path) -> Path:
    """The vendored HelmRelease schema with one more required spec field, written into schemas_dir: whichever layer
    serves it is visible in the findings."""
    schema = json.loads((VENDORED_SCHEMAS / HELMRELEASE_SCHEMA).read_text())
    spec = schema["properties"]["spec"]
    spec["required"] = [*spec.get("required", []), "ocwRequiredMarker"]
    target = schemas_dir / HELMRELEASE_SCHEMA
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(schema))
    return target


def assert_broken(tree: TreeCopy, rule: str, edits: list[tuple[str, str, str]], expected: str) -> CheckReport:
    """Apply the edits, check, and require an error of `rule` whose message holds `expected`; returns the report."""
    for relative, old, new in edits:
        tree.replace(relative, old, new)
    report = tree.check()
    found = errors(report, rule)
    assert found, f"expected a {rule} error, found errors of {sorted(error_rules(report))}"
    assert any(expected in f.message for f in found), [f.message for f in found]
    return report
