"""Real public Flux repositories (tests/fixtures/<owner>-<repo>, each with its licence and origin), copied to a
temporary directory and checked as a user would: offline, with the vendored schemas only.

Each target's findings are recorded in its fixture's `findings.json`, one entry per cause, every error with the
verdict of a person who read it (`true`: the repository is really wrong there; `false`: ocw is) and why. The tests
compare what ocw reports with the record exactly; `bench/check.py` measures time and accuracy over the same targets.
`OCW_RECORD_FINDINGS=1` rewrites the records, keeping the verdicts of causes that did not change; a new error cause
is recorded `unjudged` until someone judges it. The text report a user reads is kept beside the tests as a snapshot
(`tests/check/__snapshots__`); `pytest --snapshot-update` rewrites it after a deliberate change.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from check.tree_copy import REPO
from ocw.check import CheckReport, run_check
from ocw.install.apply import install
from ocw.paths import DATA_DIR

FIXTURES = REPO / "tests" / "fixtures"
CLUSTER = FIXTURES / "jbaker48-k8s-cluster"
RECORD_ENV = "OCW_RECORD_FINDINGS"
RECORD_FILE = "findings.json"
TRUE, FALSE, UNJUDGED = "true", "false", "unjudged"


@dataclass(frozen=True)
class Target:
    fixture: str
    cluster: str | None = None
    with_tree: bool = False  # this project's tree installed, as `ocw install` writes it

    @property
    def label(self) -> str:
        return self.fixture + (f"@{self.cluster}" if self.cluster else "") + ("+tree" if self.with_tree else "")

    def materialize(self, destination: Path) -> Path:
        """The fixture in destination (its `sourceignore` under its real name), the tree installed if asked."""
        shutil.copytree(FIXTURES / self.fixture, destination)
        kept = destination / "sourceignore"
        if kept.exists():
            kept.rename(destination / ".sourceignore")
        for own in ("README.md", RECORD_FILE):
            (destination / own).unlink(missing_ok=True)
        if self.with_tree:
            install(destination)
        return destination

    def check(self, root: Path) -> CheckReport:
        return run_check(root, cluster=self.cluster)


TARGETS = (
    Target("jbaker48-k8s-cluster"),
    Target("jbaker48-k8s-cluster", with_tree=True),
    Target("onedr0p-home-ops"),
    Target("bjw-s-labs-home-ops"),
    Target("ahinko-home-ops"),
    Target("kashalls-home-cluster"),
    Target("tholinka-home-ops"),
    Target("fluxcd-flux2-kustomize-helm-example", cluster="production"),
    Target("fluxcd-flux2-kustomize-helm-example", cluster="staging"),
)


def copy_cluster(destination: Path) -> Path:
    return Target(CLUSTER.name).materialize(destination)


def install_tree(root: Path) -> None:
    """The tree, the certificate and the listener patch, written as `ocw install` writes them."""
    install(root)


def stand_ins(root: Path, cache: Path) -> dict[str, str]:
    """What replaces run-specific paths in recorded messages: the copy of the repository, and the user cache's
    schemas and charts (`cache` is ocw's folder of the user cache), and ocw's own data where it is installed."""
    return {
        str(root): "<repo>",
        str(cache / "schemas"): "<cache>",
        str(cache / "charts"): "<chart-cache>",
        str(DATA_DIR): "<ocw-data>",
    }


def plain(text: str, stand_ins: dict[str, str]) -> str:
    """text with run-specific paths replaced by their stand-ins."""
    for path, stand_in in stand_ins.items():
        text = text.replace(path, stand_in)
    return text


def causes(report: CheckReport, stand_ins: dict[str, str]) -> list[dict[str, Any]]:
    """The report's causes as recorded: places and messages with run-specific paths replaced by stand-ins."""
    recorded = [
        {
            "rule": cause.rule,
            "severity": str(cause.severity),
            "file": cause.first.file,
            "object": cause.first.object,
            "count": len(cause.places),
            "message": plain(cause.message, stand_ins),
        }
        for cause in report.causes
    ]
    return sorted(recorded, key=_key)


def _key(cause: dict[str, Any]) -> tuple[str, ...]:
    return (cause["severity"], cause["rule"], cause["file"], cause["object"], cause["message"])


def _record_path(target: Target) -> Path:
    return FIXTURES / target.fixture / RECORD_FILE


def recorded(target: Target) -> list[dict[str, Any]]:
    path = _record_path(target)
    document: dict[str, list[dict[str, Any]]] = json.loads(path.read_text()) if path.exists() else {}
    return document.get(target.label, [])


def without_verdicts(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in entry.items() if k not in ("verdict", "why")} for entry in entries]


def record(target: Target, found: list[dict[str, Any]]) -> None:
    """Write found as target's record, keeping the verdicts of causes recorded before."""
    judged = {_key(entry): entry for entry in recorded(target)}
    entries: list[dict[str, Any]] = []
    for cause in found:
        entry = dict(cause)
        if cause["severity"] == "error":
            before = judged.get(_key(cause), {})
            entry["verdict"] = before.get("verdict", UNJUDGED)
            entry["why"] = before.get("why", "")
        entries.append(entry)
    path = _record_path(target)
    document: dict[str, list[dict[str, Any]]] = json.loads(path.read_text()) if path.exists() else {}
    document[target.label] = entries
    path.write_text(json.dumps(dict(sorted(document.items())), indent=2) + "\n")


def recording() -> bool:
    return os.environ.get(RECORD_ENV) == "1"


def accuracy(found: list[dict[str, Any]], target: Target) -> tuple[int, int]:
    """(true errors, errors): an error cause counts as true only when its record says so."""
    verdicts = {_key(entry): entry.get("verdict") for entry in recorded(target)}
    errors = [cause for cause in found if cause["severity"] == "error"]
    return sum(1 for cause in errors if verdicts.get(_key(cause)) == TRUE), len(errors)
