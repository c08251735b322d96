"""The workspaces in the cluster's monitoring: every workspace app builds its Probe and PrometheusRule, aimed at what
the tree really builds (the route's host, a path that answers without the password, the pod, claim and
ReplicationSource, the namespace), through the blackbox exporter and Prometheus the cluster runs; every
PrometheusRule passes `promtool check rules`. The dashboards are dashboards.py's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from ocw.check import dashboards
from ocw.check.inventory import Inventory, rendered_workspaces
from ocw.findings import Finding, Severity
from ocw.kube.manifest import Manifest, mapping
from ocw.monitoring import promql, promtool
from ocw.monitoring.stack import PrometheusSelectors, Selection, Stack, find_stack
from ocw.schedules import UnknownSchedule, schedule_period
from ocw.schemas.verdicts import Verdicts
from ocw.tree import Tree
from ocw.workspace import Workspace

# A pod of the workspace's Deployment as the ReplicaSet controller names it; a rule's pod regex must match it.
SAMPLE_POD_SUFFIX = "-5d8c7b9f4-q7x2m"
NAMESPACE_LABELS = ("namespace", "obj_namespace")
MAX_AGE_VARIABLE = "VOLSYNC_BACKUP_MAX_AGE"


def check_monitoring(tree: Tree, inventory: Inventory) -> list[Finding]:
    findings = list(check_rules_with_promtool(m for m in tree.manifests() if m.kind == "PrometheusRule"))
    workspaces = rendered_workspaces(tree, inventory)
    helmreleases = inventory.of_kind("HelmRelease")
    urls: dict[str, dict[str, str]] = {}
    for source in inventory.of_kind("OCIRepository"):
        urls.setdefault(source.namespace or "", {})[source.name] = str(source.spec.get("url") or "")
    stack = find_stack(helmreleases, urls)
    for ws in workspaces:
        findings.extend(_workspace(ws, workspaces, stack, inventory))
    findings.extend(dashboards.check_dashboards(workspaces, stack))
    return findings


def check_rules_with_promtool(rules: Iterable[Manifest]) -> Iterator[Finding]:
    rules = list(rules)
    if not rules:
        return
    found = promtool.find_promtool()
    if found is None:
        yield Finding(
            rules[0].file,
            "promtool-rules",
            "-",
            f"promtool is not on PATH, so {len(rules)} PrometheusRule(s) were not checked with `promtool check "
            "rules`: install it (Debian/Ubuntu: apt-get install prometheus; macOS: brew install prometheus) and run "
            "ocw check again",
            severity=Severity.WARNING,
        )
        return
    verdicts = _promtool_problems(found, rules)
    if not any(verdicts):
        return
    version = promtool.version(found)
    for rule, problems in zip(rules, verdicts, strict=True):
        for problem in problems:
            yield Finding(rule.file, "promtool-rules", rule.ref, f"promtool {version} check rules: {problem}")


def _promtool_problems(found: Path, rules: list[Manifest]) -> list[tuple[str, ...]]:
    """What promtool finds in each rule's rules file. A file it passed before (the same text, the same promtool
    binary) is not checked again: that it passed is kept with the validation verdicts. Only passes are kept; a file
    with problems is checked again and reported in promtool's words, as the first time."""
    kept = Verdicts()
    identity = _binary_identity(found)
    keys = [_rules_key(kept, identity, rule) if identity is not None else None for rule in rules]
    kept.prefetch(key for key in keys if key is not None)
    passed = [key is not None and kept.get(key) == [] for key in keys]
    checks = iter(promtool.check_rules(found, [rule.obj for rule, ok in zip(rules, passed, strict=True) if not ok]))
    problems: list[tuple[str, ...]] = []
    for key, ok in zip(keys, passed, strict=True):
        check = None if ok else next(checks)
        if check is not None and check.ok and key is not None:
            kept.put(key, [])
        problems.append(check.problems if check is not None else ())
    kept.flush()
    return problems


def _binary_identity(binary: Path) -> str | None:
    try:
        resolved = binary.resolve()
        status = resolved.stat()
    except OSError:
        return None
    return f"promtool:{resolved}:{status.st_size}:{status.st_mtime_ns}"


def _rules_key(kept: Verdicts, identity: str, rule: Manifest) -> bytes | None:
    """The key of the rules file's exact text: its data as JSON, key order kept, when JSON holds it exactly."""
    document = promtool.rules_document(rule.obj)
    try:
        text = json.dumps(document, ensure_ascii=False)
        exact = json.loads(text) == document
    except (TypeError, ValueError, RecursionError):
        return None
    return kept.key(identity, text, "promtool rules file") if exact else None


def _workspace(ws: Workspace, everyone: list[Workspace], stack: Stack, inventory: Inventory) -> Iterator[Finding]:
    source = str(ws.built.kustomization.source_file)
    subject = f"Kustomization/{ws.built.kustomization.name}"
    probes = [m for m in ws.built.manifests if m.kind == "Probe"]
    rules = [m for m in ws.built.manifests if m.kind == "PrometheusRule"]
    for kind, found in (("Probe", probes), ("PrometheusRule", rules)):
        if not found:
            yield Finding(
                source,
                "monitoring-present",
                subject,
                f"the workspace builds no {kind}: it is invisible to the cluster's monitoring; include the "
                "opencode-workspace component (kubernetes/components/opencode-workspace/monitoring/)",
            )
    for probe in probes:
        yield from _probe(ws, probe, stack)
    for rule in rules:
        yield from _selectors(ws, rule, everyone)
        yield from _backup_window(ws, rule)
    for prometheus in stack.prometheuses:
        yield from _selected(prometheus, "rules", rules, inventory)
        yield from _selected(prometheus, "probes", probes, inventory)


def _probe(ws: Workspace, probe: Manifest, stack: Stack) -> Iterator[Finding]:
    spec = probe.obj.get("spec") or {}
    module = str(spec.get("module") or "")
    url = str((spec.get("prober") or {}).get("url") or "")

    def finding(message: str, severity: Severity = Severity.ERROR) -> Finding:
        return Finding(probe.file, "monitoring-targets", probe.ref, message, severity=severity)

    exporters = [e for e in stack.blackbox_exporters if url in e.prober_urls()]
    if not stack.blackbox_exporters:
        yield finding(
            "no blackbox-exporter HelmRelease (chart prometheus-blackbox-exporter) in the repository or the host "
            f"description: prober.url {url!r} and module {module!r} were not checked",
            Severity.WARNING,
        )
    elif not exporters:
        known = sorted(u for e in stack.blackbox_exporters for u in e.prober_urls() if ".svc.cluster.local" in u)
        yield finding(f"prober.url {url!r} is not the Service of a blackbox exporter the cluster runs: use {known[0]}")
    elif module not in exporters[0].modules or exporters[0].modules[module] != "http":
        modules = ", ".join(f"{n} ({p})" for n, p in sorted(exporters[0].modules.items()))
        yield finding(
            f"module {module!r} is not an http module of blackbox exporter {exporters[0].helmrelease.ref} "
            f"(its modules: {modules}): use its http_2xx"
        )
    targets = [str(t) for t in ((spec.get("targets") or {}).get("staticConfig") or {}).get("static") or []]
    hostnames = [str(v) for p in spec.get("params") or [] if p.get("name") == "hostname" for v in p.get("values") or []]
    for target in targets:
        parts = urlsplit(target)
        probed = hostnames[0] if hostnames else parts.hostname
        if ws.hostname and probed != ws.hostname:
            yield finding(
                f"the Probe asks for host {probed!r} ({target}), but the workspace's route serves {ws.hostname!r}: "
                "set the `hostname` parameter (or the target) to the route's hostname"
            )
        open_paths = _unauthenticated_paths(ws)
        if open_paths and parts.path not in open_paths:
            yield finding(
                f"the Probe requests {parts.path or '/'}, which OpenCode answers with 401 without the password, so "
                f"it would always fail: probe {sorted(open_paths)[0]}, the path the pod's own probes use"
            )


def _unauthenticated_paths(ws: Workspace) -> set[str]:
    """The httpGet paths of the OpenCode container's probes: kubelet sends no password, so these answer without one."""
    paths = set()
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        http_get = mapping(mapping(ws.app_container.spec.get(kind)).get("httpGet"))
        if http_get.get("path"):
            paths.add(str(http_get["path"]))
    return paths


def _alerts(rule: Manifest) -> Iterator[tuple[str, str]]:
    for group in (rule.obj.get("spec") or {}).get("groups") or []:
        for item in group.get("rules") or []:
            yield str(item.get("alert") or item.get("record") or "?"), str(item.get("expr") or "")


def _selectors(ws: Workspace, rule: Manifest, everyone: list[Workspace]) -> Iterator[Finding]:
    """Each equality selector names an object the workspace really has; a pod regex matches its Deployment's pods
    and no other workspace's."""
    claims = {str(m.volume.source) for m in ws.app_container.mounts if m.volume.type == "persistentVolumeClaim"}
    replication = {m.name for m in ws.built.manifests if m.kind in ("ReplicationSource", "ReplicationDestination")}
    containers = {c.name for c in ws.workload.all_containers}
    expected: dict[str, set[str]] = {"persistentvolumeclaim": claims, "obj_name": replication, "container": containers}
    namespace = rule.namespace or ws.namespace
    for alert, expr in _alerts(rule):
        for matcher in promql.matchers(expr):
            problem = None
            if matcher.op == "=" and matcher.label in NAMESPACE_LABELS and matcher.value != namespace:
                problem = f"the rule and the workspace are in namespace {namespace!r}"
            elif matcher.op == "=" and matcher.label in expected and matcher.value not in expected[matcher.label]:
                problem = f"the workspace has {matcher.label} {', '.join(sorted(expected[matcher.label])) or 'none'}"
            elif matcher.op == "=~" and matcher.label == "pod":
                problem = _pod_regex_problem(matcher.value, ws, everyone)
            if problem:
                yield Finding(
                    rule.file,
                    "monitoring-targets",
                    rule.ref,
                    f"alert {alert} selects {matcher}, but {problem}: it would watch nothing (or the wrong "
                    "workspace); fix the selector in the component's monitoring/prometheusrule.yaml",
                )


def _pod_regex_problem(pattern: str, ws: Workspace, everyone: list[Workspace]) -> str | None:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        return f"it is not a regular expression ({exc})"
    if not regex.fullmatch(ws.workload.name + SAMPLE_POD_SUFFIX):
        return f"the workspace's pods are named {ws.workload.name}{SAMPLE_POD_SUFFIX} (Deployment, ReplicaSet, pod)"
    others = [
        o.workload.name for o in everyone if o.name != ws.name and regex.fullmatch(o.workload.name + SAMPLE_POD_SUFFIX)
    ]
    return f"it also matches the pods of {', '.join(others)}" if others else None


def _backup_window(ws: Workspace, rule: Manifest) -> Iterator[Finding]:
    """A rule about the workspace's backups looks back twice the schedule's period, as `ocw verify` (P4.2) does."""
    schedules = {
        m.name: str(((m.obj.get("spec") or {}).get("trigger") or {}).get("schedule") or "")
        for m in ws.built.manifests
        if m.kind == "ReplicationSource"
    }
    for alert, expr in _alerts(rule):
        names = [m.value for m in promql.matchers(expr) if m.label == "obj_name" and m.value in schedules]
        if not names or "volsync_" not in expr:
            continue
        schedule = schedules[names[0]]
        try:
            window = 2 * schedule_period(schedule)
        except UnknownSchedule:
            yield Finding(
                rule.file,
                "monitoring-targets",
                rule.ref,
                f"alert {alert}: the backup schedule {schedule!r} of ReplicationSource {names[0]} is not a form "
                "whose period ocw knows (hourly or daily cron, @hourly, @daily): its window was not checked",
                severity=Severity.WARNING,
            )
            continue
        for written in sorted(set(promql.durations(expr))):
            if promql.seconds(written) != window:
                yield Finding(
                    rule.file,
                    "monitoring-targets",
                    rule.ref,
                    f"alert {alert} looks back {written}, but ReplicationSource {names[0]} runs {schedule!r}: twice "
                    f"its period is {promql.duration(window)}; set {MAX_AGE_VARIABLE}: {promql.duration(window)} in "
                    f"the workspace's ks.yaml (postBuild.substitute)",
                )


def _selected(
    prometheus: PrometheusSelectors, kind: str, objects: list[Manifest], inventory: Inventory
) -> Iterator[Finding]:
    """The cluster's Prometheus (kube-prometheus-stack) selects the object by its labels and its namespace's."""
    selection = prometheus.rules if kind == "rules" else prometheus.probes
    for obj in objects:
        labels = (obj.obj.get("metadata") or {}).get("labels") or {}
        namespace = inventory.get("Namespace", None, obj.namespace or "")
        ns_labels = {
            "kubernetes.io/metadata.name": obj.namespace or "",
            **(((namespace.obj.get("metadata") or {}).get("labels") or {}) if namespace else {}),
        }
        for what, have, wanted in (
            ("labels", labels, selection),
            ("namespace labels", ns_labels, prometheus.namespaces.get(kind, Selection(None))),
        ):
            missing = {k: v for k, v in (wanted.labels or {}).items() if have.get(k) != v}
            if missing:
                yield Finding(
                    obj.file,
                    "monitoring-targets",
                    obj.ref,
                    f"the Prometheus of {prometheus.helmrelease.ref} selects {kind} by {what} "
                    f"{', '.join(f'{k}={v}' for k, v in missing.items())}, which {obj.ref} lacks: Prometheus would "
                    f"ignore it; add the label, or select every object (prometheusSpec.{kind[:-1]}SelectorNilUsesHelm"
                    "Values: false)",
                )
            elif wanted.unmodelled:
                yield Finding(
                    obj.file,
                    "monitoring-targets",
                    obj.ref,
                    f"the Prometheus of {prometheus.helmrelease.ref} selects {kind} with matchExpressions, which ocw "
                    "does not evaluate: check by hand that it selects this object",
                    severity=Severity.WARNING,
                )
