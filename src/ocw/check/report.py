"""The outcome of a check: every finding, what was used to produce it, and its two renderings (text, JSON)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ocw.console import mark, paint
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
        if not self.namespace and self.name.endswith(".yaml"):  # a ks.yaml that did not parse: no name to give
            return f"  {'FAILED':6} {self.name}: does not parse, {self.errors} error(s)"
        where = f" ({self.namespace})" if self.namespace else ""
        verdict = "ok" if not self.errors else "FAILED"
        counts = f"{self.objects} object(s), {self.errors} error(s), {self.warnings} warning(s)"
        # On a terminal: a green ✓ or red ✗ before the word; in a pipe or a file the line is unchanged.
        word = paint(f"{verdict:6}", "green" if not self.errors else "red")
        return f"  {mark(not self.errors)}{word} {self.name}{where}: {counts}"


@dataclass
class CheckReport:
    repo: Path
    findings: list[Finding]
    var_files: list[Path]
    schemas: str
    kubernetes_version: str
    kustomizations: list[str]
    objects_validated: int = 0
    objects_without_schema: int = 0  # the rest of the objects the progress lines counted
    # The repository's own substituteFrom sources that gave variables (files relative to the repository).
    var_sources: list[str] = field(default_factory=list)
    per_kustomization: list[KustomizationSummary] = field(default_factory=list)
    # Which Flux Kustomization each finding's object belongs to, for callers checking one workspace.
    owners: dict[Finding, str] = field(default_factory=dict, repr=False)

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
        return [f for f in self.findings if self.owners.get(f) in (name, None)]

    def summary(self) -> dict[str, Any]:
        return {
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "kustomizations": len(self.kustomizations),
            "objects_validated": self.objects_validated,
            "objects_without_schema": self.objects_without_schema,
            "vars_files": [str(p) for p in self.var_files],
            "vars_sources": list(self.var_sources),
            "schemas": self.schemas,
            "kubernetes_version": self.kubernetes_version,
        }

    def to_json(self) -> str:
        findings = [
            {
                "rule": f.rule,
                "severity": str(f.severity),
                "file": f.file,
                "line": f.line,
                "object": f.object,
                "kustomization": f.owner,
                "message": mask_tokens(f.message),
            }
            for f in self.findings
        ]
        kustomizations = [asdict(item) for item in self.per_kustomization]
        return json.dumps({"findings": findings, "summary": self.summary(), "kustomizations": kustomizations}, indent=2)

    def _variables_from(self) -> str:
        used = [*self.var_sources, *(str(p) for p in self.var_files)]
        return ", ".join(used) or "none (no substituteFrom source in the repository, no --vars, no example file)"

    def to_text(self) -> str:
        lines = [
            f"ocw check {self.repo}",
            f"  variables from: {self._variables_from()}",
            f"  schemas: Kubernetes {self.kubernetes_version} (kubernetes-validate); CRDs, values: {self.schemas}",
            "",
        ]
        by_file: dict[str, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            by_file[finding.file].append(finding)
        for file in sorted(by_file):
            lines.append(file)
            # Errors first: a warning about a file (say, the chart version it was rendered with) never hides one.
            for finding in sorted(
                by_file[file], key=lambda f: (f.severity != Severity.ERROR, f.line or 0, f.rule, f.object)
            ):
                where = f"line {finding.line}: " if finding.line else ""
                obj = "" if finding.object == "-" else f"{finding.object}: "
                lines.append(f"  {finding.severity} [{finding.rule}] {where}{obj}{mask_tokens(finding.message)}")
            lines.append("")
        if self.per_kustomization:
            lines.append("Flux Kustomizations:")
            lines.extend(item.line() for item in self.per_kustomization)
            lines.append("")
        verdict = mark(not self.errors) + (paint("FAILED", "red") if self.errors else paint("ok", "green"))
        lines.append(
            f"{verdict}: {len(self.errors)} error(s), {len(self.warnings)} warning(s) in {len(self.kustomizations)} "
            f"Flux Kustomization(s), {self.objects_validated} object(s) validated"
            + (f", {self.objects_without_schema} without a schema" if self.objects_without_schema else "")
        )
        return "\n".join(lines)
