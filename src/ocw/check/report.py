"""The outcome of a check: every finding, what was used to produce it, and its two renderings (text, JSON)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ocw.findings import Finding, Severity
from ocw.secrets.redact import mask_tokens


@dataclass(frozen=True)
class KustomizationSummary:
    name: str
    namespace: str
    objects: int
    errors: int
    warnings: int

    def line(self) -> str:
        where = f" ({self.namespace})" if self.namespace else ""
        verdict = "ok" if not self.errors else "FAILED"
        counts = f"{self.objects} object(s), {self.errors} error(s), {self.warnings} warning(s)"
        return f"  {verdict:6} {self.name}{where}: {counts}"


MAX_PLACES = 5


@dataclass(frozen=True)
class Place:
    file: str
    line: int | None
    object: str
    kustomization: str | None  # the Flux Kustomization that applies the object (None: a file, the whole run)

    def describe(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return where if self.object == "-" else f"{where} {self.object}"


@dataclass
class Cause:
    """One problem, however many objects or files show it: the same rule, severity and message."""

    rule: str
    severity: Severity
    message: str
    places: list[Place]

    @property
    def first(self) -> Place:
        return self.places[0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "file": self.first.file,
            "line": self.first.line,
            "object": self.first.object,
            "kustomization": self.first.kustomization,
            "message": mask_tokens(self.message),
            "count": len(self.places),
            "places": [asdict(place) for place in self.places[:MAX_PLACES]],
        }


def causes(findings: list[Finding]) -> list[Cause]:
    """The findings grouped by cause, in the order of their first place."""
    grouped: dict[tuple[str, str, str], Cause] = {}
    for finding in findings:
        key = (finding.rule, str(finding.severity), finding.message)
        place = Place(finding.file, finding.line, finding.object, finding.owner)
        if key in grouped:
            grouped[key].places.append(place)
        else:
            grouped[key] = Cause(finding.rule, finding.severity, finding.message, [place])
    return list(grouped.values())


@dataclass
class CheckReport:
    repo: Path
    findings: list[Finding]
    var_files: list[Path]
    schemas: str
    kubernetes_version: str
    kustomizations: list[str]
    objects_validated: int = 0
    # The repository's own substituteFrom sources that gave variables (files relative to the repository).
    var_sources: list[str] = field(default_factory=list)
    per_kustomization: list[KustomizationSummary] = field(default_factory=list)
    entry: str = ""  # where Flux starts: the bootstrap, or the folders the check started from
    host: str | None = None  # the cluster description applied, by its repository URL

    @property
    def causes(self) -> list[Cause]:
        return causes(self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def for_kustomization(self, name: str) -> list[Finding]:
        """Findings about objects the named Flux Kustomization builds, plus tree-wide ones (files it shares)."""
        return [f for f in self.findings if f.owner in (name, None)]

    def summary(self) -> dict[str, Any]:
        grouped = self.causes
        return {
            "errors": sum(1 for c in grouped if c.severity == Severity.ERROR),
            "warnings": sum(1 for c in grouped if c.severity == Severity.WARNING),
            "error_places": len(self.errors),
            "warning_places": len(self.warnings),
            "entry": self.entry,
            "host": self.host,
            "kustomizations": len(self.kustomizations),
            "objects_validated": self.objects_validated,
            "vars_files": [str(p) for p in self.var_files],
            "vars_sources": list(self.var_sources),
            "schemas": self.schemas,
            "kubernetes_version": self.kubernetes_version,
        }

    def to_json(self) -> str:
        findings = [cause.as_dict() for cause in self.causes]
        kustomizations = [asdict(item) for item in self.per_kustomization]
        return json.dumps({"findings": findings, "summary": self.summary(), "kustomizations": kustomizations}, indent=2)

    def _variables_from(self) -> str:
        used = [*self.var_sources, *(str(p) for p in self.var_files)]
        return ", ".join(used) or "none (no substituteFrom source in the repository, no --vars, no example file)"

    def to_text(self) -> str:
        lines = [
            f"ocw check {self.repo}",
            f"  Flux starts from: {self.entry or '-'}",
            f"  cluster description: {self.host or 'none (the repository alone; --host FILE adds one)'}",
            f"  variables from: {self._variables_from()}",
            f"  schemas: Kubernetes {self.kubernetes_version} (kubernetes-validate); CRDs, values: {self.schemas}",
            "",
        ]
        grouped = self.causes
        by_file: dict[str, list[Cause]] = defaultdict(list)
        for cause in grouped:
            by_file[cause.first.file].append(cause)
        for file in sorted(by_file):
            lines.append(file)
            # Errors first: a warning about a file (say, the chart version it was rendered with) never hides one.
            for cause in sorted(
                by_file[file], key=lambda c: (c.severity != Severity.ERROR, c.first.line or 0, c.rule, c.first.object)
            ):
                where = f"line {cause.first.line}: " if cause.first.line else ""
                obj = "" if cause.first.object == "-" else f"{cause.first.object}: "
                lines.append(f"  {cause.severity} [{cause.rule}] {where}{obj}{mask_tokens(cause.message)}")
                if len(cause.places) > 1:
                    lines.append(f"    ({len(cause.places)} places; also:)")
                    lines.extend(f"      {place.describe()}" for place in cause.places[1:MAX_PLACES])
                    if len(cause.places) > MAX_PLACES:
                        lines.append(f"      ... and {len(cause.places) - MAX_PLACES} more")
            lines.append("")
        if self.per_kustomization:
            lines.append("Flux Kustomizations:")
            lines.extend(item.line() for item in self.per_kustomization)
            lines.append("")
        errors = sum(1 for c in grouped if c.severity == Severity.ERROR)
        warnings = sum(1 for c in grouped if c.severity == Severity.WARNING)
        verdict = "FAILED" if self.errors else "ok"
        lines.append(
            f"{verdict}: {errors} error(s) ({len(self.errors)} place(s)), {warnings} warning(s) in "
            f"{len(self.kustomizations)} Flux Kustomization(s), {self.objects_validated} object(s) validated"
        )
        return "\n".join(lines)
