"""The workspaces' Grafana dashboards (ConfigMaps holding dashboard JSON): still JSON after Flux substitution, one uid
and one file per dashboard, and labelled and annotated the way the cluster's Grafana dashboard sidecar loads them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ocw.findings import Finding, Severity
from ocw.kube.manifest import Manifest
from ocw.monitoring.stack import DashboardSidecar, Stack
from ocw.workspace import Workspace

GRAFANA_UID_LIMIT = 40  # Grafana refuses longer dashboard uids


@dataclass(frozen=True)
class Dashboard:
    configmap: Manifest
    key: str
    text: str

    @property
    def folder(self) -> dict[str, str]:
        return {
            str(k): str(v) for k, v in ((self.configmap.obj.get("metadata") or {}).get("annotations") or {}).items()
        }


def dashboards_of(ws: Workspace) -> list[Dashboard]:
    """ConfigMap entries of the workspace app that hold a Grafana dashboard (a `.json` key with `panels`)."""
    found = []
    for manifest in ws.built.manifests:
        if manifest.kind != "ConfigMap":
            continue
        for key, value in (manifest.obj.get("data") or {}).items():
            if str(key).endswith(".json") and '"panels"' in str(value):
                found.append(Dashboard(manifest, str(key), str(value)))
    return found


def check_dashboards(workspaces: list[Workspace], stack: Stack) -> list[Finding]:
    findings: list[Finding] = []
    seen_uids: dict[str, str] = {}
    seen_files: dict[tuple[str, str], str] = {}
    for ws in workspaces:
        for dashboard in dashboards_of(ws):
            findings.extend(_content(dashboard, seen_uids))
            findings.extend(_sidecar(dashboard, stack.dashboard_sidecars, seen_files))
    return findings


def _finding(dashboard: Dashboard, message: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(dashboard.configmap.file, "grafana-dashboard", dashboard.configmap.ref, message, severity=severity)


def _content(dashboard: Dashboard, seen_uids: dict[str, str]) -> Iterator[Finding]:
    try:
        document: Any = json.loads(dashboard.text)
    except json.JSONDecodeError as exc:
        yield _finding(
            dashboard,
            f"{dashboard.key} is not JSON after Flux substitution ({exc.msg} at line {exc.lineno}): Grafana would "
            "skip it. Grafana's own variables must be written $name, never ${name}, which Flux substitutes",
        )
        return
    uid = str(document.get("uid") or "") if isinstance(document, dict) else ""
    if not uid or len(uid) > GRAFANA_UID_LIMIT:
        yield _finding(dashboard, f"{dashboard.key} needs a uid of 1 to {GRAFANA_UID_LIMIT} characters, found {uid!r}")
    elif uid in seen_uids:
        yield _finding(dashboard, f"{dashboard.key} has uid {uid!r}, as {seen_uids[uid]} has: Grafana keeps only one")
    else:
        seen_uids[uid] = dashboard.configmap.ref


def _sidecar(
    dashboard: Dashboard, sidecars: list[DashboardSidecar], seen_files: dict[tuple[str, str], str]
) -> Iterator[Finding]:
    """Against each Grafana of the cluster that loads dashboards from ConfigMaps."""
    if not sidecars:
        yield _finding(
            dashboard,
            "no Grafana HelmRelease (chart grafana) in the repository or the host description: whether Grafana "
            "loads this dashboard was not checked",
            Severity.WARNING,
        )
        return
    labels = (dashboard.configmap.obj.get("metadata") or {}).get("labels") or {}
    namespace = dashboard.configmap.namespace or ""
    for sidecar in sidecars:
        grafana = sidecar.helmrelease.ref
        if not sidecar.enabled:
            yield _finding(
                dashboard,
                f"Grafana {grafana} runs no dashboard sidecar (sidecar.dashboards.enabled), so it loads no dashboard "
                "from a ConfigMap: enable it, or import the dashboard's JSON by hand",
                Severity.WARNING,
            )
            continue
        wanted = f"{sidecar.label}: {sidecar.label_value!r}" if sidecar.label_value else f"{sidecar.label} (any value)"
        if sidecar.label not in labels or (sidecar.label_value and str(labels[sidecar.label]) != sidecar.label_value):
            yield _finding(
                dashboard,
                f"Grafana {grafana} loads ConfigMaps labelled {wanted}; this one is labelled "
                f"{dict(labels) or 'nothing'}: fix the label in the component's monitoring/dashboard.yaml",
            )
        if not sidecar.searches(namespace):
            yield _finding(
                dashboard,
                f"Grafana {grafana} looks for dashboards in {', '.join(sidecar.namespaces)}, not in {namespace}: set "
                "its sidecar.dashboards.searchNamespace to ALL (or add the namespace)",
                Severity.WARNING,
            )
        folder = dashboard.folder.get(sidecar.folder_annotation or "")
        if sidecar.folder_annotation and folder is None:
            yield _finding(
                dashboard,
                f"Grafana {grafana} files dashboards by the annotation {sidecar.folder_annotation!r}, which this "
                "ConfigMap lacks: it lands in the General folder",
                Severity.WARNING,
            )
        # The sidecar writes every data key as a file of its folder: two equal names overwrite each other.
        place = (f"{grafana}/{folder or ''}", dashboard.key)
        if place in seen_files and seen_files[place] != dashboard.configmap.ref:
            yield _finding(
                dashboard,
                f"{dashboard.key} goes to the same file in Grafana {grafana}'s folder {folder or 'General'!r} as "
                f"{seen_files[place]}'s: one overwrites the other; name the key after the workspace",
            )
        seen_files.setdefault(place, dashboard.configmap.ref)
