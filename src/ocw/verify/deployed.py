"""P2.0 / P3.0: the workspace's Flux objects are Ready and the gateway accepted its route."""

from __future__ import annotations

from typing import Any

from ocw.verify.cluster import EXTERNALSECRET, HELMRELEASE, KUSTOMIZATION
from ocw.verify.conditions import condition, current_generation, describe, is_true
from ocw.verify.context import VerifyContext
from ocw.verify.result import Outcome, failed, passed
from ocw.workspace import Workspace


def _ready(obj: dict[str, Any] | None, label: str, next_step: str) -> tuple[str | None, str]:
    """(problem or None, evidence line)."""
    if obj is None:
        return f"{label} does not exist", next_step
    ready = condition(obj, "Ready")
    fresh, generation = current_generation(obj)
    if not is_true(ready):
        return f"{label}: {describe('Ready', ready)}", next_step
    if not fresh:
        return f"{label}: {generation}", next_step
    return None, f"{label}: {describe('Ready', ready)}" + (f", {generation}" if generation else "")


def check_route(ctx: VerifyContext, ws: Workspace) -> tuple[str | None, list[str]]:
    name = ctx.route_name(ws)
    route = ctx.route(ws)
    label = f"HTTPRoute {ws.namespace}/{name}"
    if route is None:
        return f"{label} does not exist", []
    wanted = [p.get("name") for p in (route.get("spec") or {}).get("parentRefs") or []]
    parents = (route.get("status") or {}).get("parents") or []
    evidence: list[str] = []
    for gateway in wanted:
        status = next((p for p in parents if (p.get("parentRef") or {}).get("name") == gateway), None)
        if status is None:
            return f"{label}: no status from gateway {gateway} (not attached)", evidence
        for kind in ("Accepted", "ResolvedRefs"):
            entry = condition({}, kind, status.get("conditions") or [])
            if not is_true(entry):
                return f"{label} at gateway {gateway}: {describe(kind, entry)}", evidence
        section = (status.get("parentRef") or {}).get("sectionName")
        evidence.append(f"{label}: Accepted and ResolvedRefs by {gateway}" + (f"/{section}" if section else ""))
    return None, evidence


def check_deployed(ctx: VerifyContext, ws: Workspace) -> Outcome:
    ks = ws.built.kustomization
    checks = [
        (
            ctx.cluster.get(KUSTOMIZATION, ks.name, ks.namespace),
            f"Kustomization {ks.namespace}/{ks.name}",
            f"`flux -n {ks.namespace} get kustomization {ks.name}`; `flux reconcile kustomization {ks.name}`",
        ),
        (
            ctx.cluster.get(HELMRELEASE, ws.name, ws.namespace),
            f"HelmRelease {ws.namespace}/{ws.name}",
            f"`flux -n {ws.namespace} get helmrelease {ws.name}` and `kubectl -n {ws.namespace} describe hr {ws.name}`",
        ),
    ]
    if ws.external_secret is not None:
        name = ws.external_secret.name
        checks.append(
            (
                ctx.cluster.get(EXTERNALSECRET, name, ws.namespace),
                f"ExternalSecret {ws.namespace}/{name}",
                f"`kubectl -n {ws.namespace} describe externalsecret {name}` (are the Doppler variables set? P1.3)",
            )
        )
    evidence: list[str] = []
    for obj, label, next_step in checks:
        problem, line = _ready(obj, label, next_step)
        if problem:
            return failed(f"{label} Ready=True for its current generation", problem, line, *evidence)
        evidence.append(line)
    problem, lines = check_route(ctx, ws)
    evidence += lines
    if problem:
        return failed(
            "the route Accepted with ResolvedRefs by each parent gateway (status.parents[].conditions)",
            problem,
            "check the Gateway has the https-opencode listener (kubernetes/apps/network/envoy-gateway/app/"
            "opencode-listener.yaml) and the Service exists: `kubectl -n "
            f"{ws.namespace} describe httproute {ctx.route_name(ws)}`",
            *evidence,
        )
    return passed(*evidence)
