"""Findings about rendering the tree's HelmReleases: a chart that could not be had (exactly), values helm-controller
could not compose, and a chart that fails to render. One warning per chart, never one per object it would make."""

from __future__ import annotations

from ocw.check.inventory import Inventory
from ocw.findings import Finding, Severity, about


def check_charts(inventory: Inventory) -> list[Finding]:
    findings: list[Finding] = []
    for note in inventory.chart_notes:
        releases = sorted(note.releases, key=lambda m: (m.file, m.ref))
        first, count = releases[0], len(releases)
        label = first.ref if count == 1 else f"{first.ref} and {count - 1} more"
        if note.available:
            message = f"{note.message} ({count} HelmRelease(s))"
        else:
            message = (
                f"{note.message}. {count} HelmRelease(s) not rendered: the pods, routes and objects their chart "
                f"makes are not checked"
            )
        findings.append(about(first, "helm-chart", message, severity=Severity.WARNING, label=label))
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
