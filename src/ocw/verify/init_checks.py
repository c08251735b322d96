"""P2.5 (no token in the init log) and P2.6 (the init step is fast and does not clone on a populated volume)."""

from __future__ import annotations

from typing import Any

from ocw.errors import OcwError
from ocw.verify.context import VerifyContext
from ocw.verify.pods import init_duration, name
from ocw.verify.result import Outcome, failed, passed, skipped
from ocw.workspace import Workspace

TOKEN_MARKERS = ("ghp_", "github_pat_")
NOT_CLONING = "not cloning"
CLONING = "cloning into"
LIMIT_SECONDS = 2.0
MIN_TOKEN_BODY = 20


def init_container_name(ws: Workspace) -> str | None:
    return ws.init_container.name if ws.init_container else None


def init_log(ctx: VerifyContext, ws: Workspace, pod: dict[str, Any]) -> str:
    container = init_container_name(ws)
    if container is None:
        raise OcwError(f"the tree gives {ws.name} no init container", hint="run `ocw check`")
    return ctx.cluster.logs(name(pod), ws.namespace, container)


def _pod_or_fail(ctx: VerifyContext, ws: Workspace) -> dict[str, Any] | Outcome:
    pod = ctx.current_pod(ws)
    if pod is None:
        return failed(
            f"a pod of {ws.workload.kind} {ws.namespace}/{ws.workload.name}",
            "no pod (or no Deployment)",
            f"`kubectl -n {ws.namespace} get deploy,rs,pods` and the HelmRelease status (P2.0/P3.0)",
        )
    return pod


def check_log_has_no_token(ctx: VerifyContext, ws: Workspace, pod: dict[str, Any] | None = None) -> Outcome:
    found = pod if pod is not None else _pod_or_fail(ctx, ws)
    if isinstance(found, Outcome):
        return found
    log = init_log(ctx, ws, found)
    secret = ctx.secret(ws)
    token_key = ctx.secret_key(ws, "GITHUB_PAT")
    token = secret.values.get(token_key or "", "") if secret.error is None else ""
    leaks = [marker for marker in TOKEN_MARKERS if marker in log]
    # The token's body without its `ghp_` / `github_pat_` prefix counts too (a log that cut the prefix still leaks).
    body = token.split("_", 1)[1] if token.startswith(("ghp_", "github_pat_")) else token
    if token and (token in log or (len(body) >= MIN_TOKEN_BODY and body in log)):
        leaks.append("the token value from the Secret")
    lines = len(log.splitlines())
    where = f"pod {name(found)} container {init_container_name(ws)}: {lines} log line(s) read"
    if leaks:
        return failed(
            "no GitHub token in the init container's log",
            f"found {', '.join(leaks)} (line contents not shown)",
            "remove any `set -x` or token-bearing URL from the init script, then revoke the token on GitHub and "
            "store a new one in Doppler",
            where,
        )
    evidence = [where, f"no {' / '.join(TOKEN_MARKERS)}"]
    if token:
        evidence.append("the token value from the Secret does not appear")
    else:
        why = secret.error.message if secret.error else f"the Secret has no {token_key}"
        evidence.append(f"the token value itself was not compared: {why}")
    return passed(*evidence)


def check_init_fast(
    ctx: VerifyContext, ws: Workspace, pod: dict[str, Any] | None = None, *, after_restart: bool = False
) -> Outcome:
    found = pod if pod is not None else _pod_or_fail(ctx, ws)
    if isinstance(found, Outcome):
        return found
    container = init_container_name(ws) or "init"
    seconds, detail = init_duration(found, container)
    log = init_log(ctx, ws, found)
    said = [line.strip() for line in log.splitlines() if NOT_CLONING in line or CLONING in line or "done in" in line]
    evidence = [detail, *(f"init log: {line}" for line in said)]
    cloned = any(CLONING in line for line in said) and not any(NOT_CLONING in line for line in said)
    if cloned and not after_restart:
        return skipped(
            f"pod {name(found)} started on an empty volume (its init cloned): run with --disruptive to restart it "
            "on the populated volume and measure that boot",
            *evidence,
        )
    if cloned:
        return failed(
            "a boot on the populated volume not to clone",
            "the init log says it cloned",
            "the clone was not found healthy on the volume: check the PVC is the same and the clone is intact "
            "(`git -C <workingDir> rev-parse HEAD` in the pod)",
            *evidence,
        )
    if seconds is None:
        return failed(f"the init container {container} to have finished", detail, "wait for the pod to start")
    if seconds >= LIMIT_SECONDS:
        return failed(
            f"init under {LIMIT_SECONDS:g} s (at most 1 s recorded; Kubernetes records whole seconds)",
            f"{seconds:g} s recorded",
            "read the init log for what took the time (a pull when WORKSPACE_GIT_PULL is enabled, a slow volume)",
            *evidence,
        )
    if not any(NOT_CLONING in line for line in said):
        return failed(
            f"the init log to say it found the clone ('{NOT_CLONING}')",
            "no such line",
            "check the init script running in the pod matches the tree",
            *evidence,
        )
    return passed(*evidence)
