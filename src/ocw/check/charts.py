"""Findings about rendering the tree's HelmReleases: a chart that could not be had (exactly), values helm-controller
could not compose, and a chart that fails to render. One warning per chart (a cause with a place at each release that
uses it), never one per object it would make."""

from __future__ import annotations

from ocw.check.inventory import Inventory
from ocw.findings import Finding, Severity, about


def check_charts(inventory: Inventory) -> list[Finding]:
    findings: list[Finding] = []
    for note in inventory.chart_notes:
        # One cause per chart: the same message at each release that uses it.
        if note.available:
            message = note.message
        else:
            message = f"{note.message}. Not rendered: the pods, routes and objects this chart makes are not checked"
        findings.extend(about(release, "helm-chart", message, severity=Severity.WARNING) for release in note.releases)
    for release in inventory.releases:
        for problem in release.outcome.problems:
            if problem.kind == "values":
                severity = Severity.ERROR if problem.fatal else Severity.WARNING
                findings.append(about(release.helmrelease, "helm-values", problem.message, severity=severity))
            elif problem.kind == "render" and release.outcome.chart is not None:
                findings.append(
                    about(
                        release.helmrelease,
                        "helm-render",
                        f"helm template with {release.outcome.chart.describe()} fails: {problem.message}",
                    )
                )
    return findings


def unrendered_charts(inventory: Inventory) -> list[str]:
    """The charts the tree uses that could not be rendered at all."""
    return sorted(note.chart for note in inventory.chart_notes if not note.available)
