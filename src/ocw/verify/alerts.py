"""MON.1: the cluster's Prometheus sees the workspace and nothing about it is firing.

Read-only, from Prometheus's HTTP API (prometheus.py): the workspace's alert rules (those of its PrometheusRule in the
tree, by name) are loaded, its Probe is scraped and succeeds (`probe_success` of job `probe/<namespace>/<name>`, the job
Prometheus Operator makes of it), and no alert about the workspace is firing. An alert is about the workspace when it
carries `workspace: <app>` (the component's own rule and Probe), or names, in the workspace's namespace, its pods
(`<deployment>-<hash>-<hash>`), Deployment, claim, ReplicationSource/Destination or Probe job: that covers the
cluster's own rules too (kube-prometheus-stack's KubePodCrashLooping, VolSync's VolSyncVolumeOutOfSync,
blackbox-exporter's BlackboxProbeFailed).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from ocw.errors import OcwError
from ocw.verify.context import VerifyContext
from ocw.verify.prometheus import PrometheusApi, direct, discover
from ocw.verify.result import Outcome, failed, passed, skipped
from ocw.workspace import Workspace

CACHE_KEY = "prometheus"
DAY = 86400


def prometheus(ctx: VerifyContext) -> tuple[PrometheusApi | None, str]:
    """The Prometheus to read (once per run) and how it was found."""
    if CACHE_KEY not in ctx.cache:
        url = ctx.options.prometheus
        if url:
            ctx.cache[CACHE_KEY] = (direct(url, ctx.options.http_timeout), "--prometheus")
        else:
            api, found = discover(ctx.cluster)
            how = f"found {len(found)} Prometheus Service(s) labelled operated-prometheus=true: {', '.join(found)}"
            ctx.cache[CACHE_KEY] = (api, how if found else "no Service labelled operated-prometheus=true")
    api, how = ctx.cache[CACHE_KEY]
    return api, how


def _objects(ws: Workspace, kind: str) -> list[dict[str, Any]]:
    return [m.obj for m in ws.built.manifests if m.kind == kind]


def belongs(labels: Mapping[str, str], ws: Workspace) -> bool:
    if labels.get("workspace") == ws.name:
        return True
    if (labels.get("namespace") or labels.get("obj_namespace")) != ws.namespace:
        return False
    deployment = ws.workload.name
    if re.fullmatch(rf"{re.escape(deployment)}-[a-z0-9]+-[a-z0-9]+", labels.get("pod", "")):
        return True
    claims = {str(m.volume.source) for m in ws.app_container.mounts if m.volume.type == "persistentVolumeClaim"}
    replication = {m.name for m in ws.built.manifests if m.kind in ("ReplicationSource", "ReplicationDestination")}
    jobs = {f"probe/{ws.namespace}/{p['metadata']['name']}" for p in _objects(ws, "Probe")}
    return (
        labels.get("deployment") == deployment
        or labels.get("persistentvolumeclaim") in claims
        or labels.get("obj_name") in replication
        or labels.get("job") in jobs
    )


def check_alerts(ctx: VerifyContext, ws: Workspace) -> Outcome:
    api, how = prometheus(ctx)
    if api is None:
        return skipped(
            f"no Prometheus to read ({how}): pass --prometheus URL, or run Prometheus Operator (kube-prometheus-stack)"
        )
    evidence = [f"Prometheus: {api.where} ({how})"]
    expected = sorted(
        str(rule["alert"])
        for obj in _objects(ws, "PrometheusRule")
        for group in (obj.get("spec") or {}).get("groups") or []
        for rule in group.get("rules") or []
        if rule.get("alert")
    )
    try:
        loaded = {
            str(rule.get("name"))
            for group in api.alert_groups()
            for rule in group.get("rules") or []
            if (rule.get("labels") or {}).get("workspace") == ws.name
        }
        probes = {
            p["metadata"]["name"]: api.query(_probe_query(ws, p["metadata"]["name"])) for p in _objects(ws, "Probe")
        }
        alerts = [a for a in api.alerts() if belongs(a.get("labels") or {}, ws)]
        days = certificate_days(api, ws)
    except OcwError as exc:
        return failed("Prometheus's HTTP API to answer (read-only GETs)", exc.message, exc.hint or "", *evidence)
    missing = [name for name in expected if name not in loaded]
    if missing:
        return failed(
            f"Prometheus to have loaded the alerts of PrometheusRule {ws.namespace}/{ws.name}: {', '.join(expected)}",
            f"not loaded: {', '.join(missing)}",
            f"`kubectl -n {ws.namespace} get prometheusrule {ws.name}`; does the Prometheus's ruleSelector select it? "
            "(`ocw check`, rule monitoring-targets)",
            *evidence,
        )
    evidence.append(f"alert rules loaded: {', '.join(expected) or 'none in the tree'}")
    for name, samples in probes.items():
        outcome = _probe_outcome(ws, name, samples, evidence)
        if outcome is not None:
            return outcome
    if days is not None:
        evidence.append(f"the certificate the probe saw expires in {days:.0f} days")
    firing = [a for a in alerts if a.get("state") == "firing"]
    pending = [a for a in alerts if a.get("state") == "pending"]
    if pending:
        evidence.append("pending (not yet firing): " + "; ".join(_describe(a) for a in pending))
    if firing:
        return failed(
            f"no alert about {ws.name} firing",
            "firing: " + "; ".join(_describe(a) for a in firing),
            "follow each alert's runbook annotation (docs/monitoring.md)",
            *evidence,
        )
    evidence.append(f"no alert about {ws.name} is firing")
    return passed(*evidence)


def _probe_query(ws: Workspace, probe: str) -> str:
    return f'probe_success{{job="probe/{ws.namespace}/{probe}"}}'


def _probe_outcome(ws: Workspace, probe: str, samples: list[dict[str, Any]], evidence: list[str]) -> Outcome | None:
    if not samples:
        return failed(
            f"Prometheus to scrape Probe {ws.namespace}/{probe} (job probe/{ws.namespace}/{probe})",
            "no probe_success sample for that job",
            "does the Prometheus's probeSelector select the Probe (`ocw check`, rule monitoring-targets), and does "
            "its prober.url reach the blackbox exporter?",
            *evidence,
        )
    for sample in samples:
        instance = sample["metric"].get("instance", "?")
        if sample["value"][1] != "1":
            return failed(
                f"the probe of {instance} to succeed (probe_success 1)",
                f"probe_success {sample['value'][1]}",
                f"the blackbox exporter's /probe?debug=true&module=http_2xx&target=... says why; `ocw verify --phase "
                f"{2 if ws.short_name == 'flux' else 3}` checks the route from here",
                *evidence,
            )
        evidence.append(f"probe_success 1 for {instance}")
    return None


def _describe(alert: Mapping[str, Any]) -> str:
    labels = alert.get("labels") or {}
    summary = (alert.get("annotations") or {}).get("summary") or ""
    since = f", active since {alert['activeAt']}" if alert.get("activeAt") else ""
    return f"{labels.get('alertname', '?')} ({labels.get('severity', 'no severity')}{since})" + (
        f": {summary}" if summary else ""
    )


def certificate_days(api: PrometheusApi, ws: Workspace) -> float | None:
    """Days until the certificate the Probe saw expires, when Prometheus has it."""
    samples = api.query(f'min(probe_ssl_earliest_cert_expiry{{workspace="{ws.name}"}})')
    return (float(samples[0]["value"][1]) - time.time()) / DAY if samples else None
