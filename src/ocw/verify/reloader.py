"""P4.4: Stakater Reloader restarts the workspace when its Secret's data changes.

Read-only: the Deployment's own metadata.annotations (not the pod template's) carry the Reloader annotation the tree
sets. With --disruptive, the cycle is exercised: a dedicated key `ocw-verify-reloader` (a timestamp, no secret) is
added to the workspace Secret, a new pod must become Ready within --timeout, and the key is removed again (the
ExternalSecret would drop it at its next refresh anyway). Removing it changes the data back, so Reloader rolls the
pod once more, onto the Secret's original data; that second rollout is waited for as well.
Annotating the ExternalSecret with force-sync would not do: it re-fetches unchanged values from Doppler, the
Secret's data stays the same and Reloader, which only acts on data changes, does nothing.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from ocw.errors import OcwError
from ocw.verify.cluster import SECRET
from ocw.verify.context import VerifyContext
from ocw.verify.pods import meta, name, uid
from ocw.verify.result import Outcome, failed, passed
from ocw.verify.waits import Deadline, WaitTimeout, wait_for_http, wait_for_new_pod
from ocw.workspace import Workspace

RELOADER_PREFIX = "reloader.stakater.com/"
PROBE_KEY = "ocw-verify-reloader"
SECOND_ROLLOUT_BOUND = 60.0


def expected_annotations(ws: Workspace) -> dict[str, str]:
    return {k: str(v) for k, v in ws.workload.annotations.items() if k.startswith(RELOADER_PREFIX)}


def check_annotation(ctx: VerifyContext, ws: Workspace) -> Outcome:
    wanted = expected_annotations(ws) or {f"{RELOADER_PREFIX}auto": "true"}
    deployment = ctx.deployment(ws)
    label = f"{ws.workload.kind} {ws.namespace}/{ws.workload.name}"
    if deployment is None:
        return failed(label, "does not exist", f"check the HelmRelease {ws.name} (P2.0/P3.0)")
    annotations = meta(deployment).get("annotations") or {}
    template = ((((deployment.get("spec") or {}).get("template") or {}).get("metadata")) or {}).get("annotations")
    wrong = {k: annotations.get(k) for k, v in wanted.items() if annotations.get(k) != v}
    if wrong:
        on_template = [k for k in wanted if (template or {}).get(k) == wanted[k]]
        return failed(
            f"{label} metadata.annotations {wanted}",
            f"{wrong}" + (f"; found on the pod template instead: {on_template}" if on_template else ""),
            "set it as controllers.<name>.annotations in the HelmRelease values (Reloader reads the workload's "
            "own annotations)",
        )
    evidence = [f"{label}: " + ", ".join(f"{k}={v}" for k, v in wanted.items())]
    if not ctx.options.disruptive:
        evidence.append("the Secret-change restart itself is exercised with --disruptive")
    return passed(*evidence)


def _patch_probe(ctx: VerifyContext, ws: Workspace, value: str | None) -> None:
    data: dict[str, Any] = {PROBE_KEY: base64.b64encode(value.encode()).decode() if value is not None else None}
    ctx.cluster.merge_patch(SECRET, str(ws.secret_name), ws.namespace, {"data": data})


def reloader_cycle(ctx: VerifyContext, ws: Workspace, annotation: Outcome) -> Outcome:
    if annotation.status != "pass":
        return annotation
    pods = ctx.pods(ws)
    before = ctx.current_pod(ws)
    if before is None or not ws.secret_name:
        return failed("a running pod and a workspace Secret", "none", "see P2.0/P3.0", *annotation.evidence)
    old = {uid(p) for p in pods}
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ctx.options.progress(f"{ws.name}: adding {PROBE_KEY}={stamp} to Secret {ws.secret_name}; Reloader should roll")
    deadline = Deadline(ctx.options.timeout)
    evidence = list(annotation.evidence)
    try:
        _patch_probe(ctx, ws, stamp)
        try:
            first = wait_for_new_pod(ctx, ws, old, deadline, f"the change to Secret {ws.secret_name}")
        finally:
            ctx.options.progress(f"{ws.name}: removing {PROBE_KEY} from Secret {ws.secret_name}")
            _patch_probe(ctx, ws, None)
    except WaitTimeout as exc:
        return failed(
            f"a new pod within {ctx.options.timeout:g} s of a Secret data change, with no manual step",
            f"pod {name(before)} still the only one ({exc.message})",
            "check Reloader runs (`kubectl get pods -A -l app.kubernetes.io/name=reloader`) and watches this "
            "namespace; the annotation must be on the Deployment",
            *evidence,
        )
    evidence.append(
        f"Secret change at {stamp}: pod {name(before)} replaced by {name(first)} after {deadline.elapsed():.0f} s"
    )
    second = Deadline(min(SECOND_ROLLOUT_BOUND, ctx.options.timeout))
    try:
        restored = wait_for_new_pod(ctx, ws, old | {uid(first)}, second, "restoring the Secret's data")
        evidence.append(f"restoring the data rolled once more: pod {name(restored)} Ready")
    except WaitTimeout:
        evidence.append(f"no second rollout within {second.seconds:g} s after restoring the data (pod {name(first)})")
    try:
        wait_for_http(ctx, ctx.endpoint(ws), Deadline(ctx.options.timeout))
    except OcwError as exc:
        return failed("the workspace answering after the rollout", exc.message, exc.hint or "", *evidence)
    return passed(*evidence)
