"""A workspace's Deployment and pods as the cluster reports them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocw.verify.conditions import condition


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def uid(pod: dict[str, Any]) -> str:
    return str(meta(pod).get("uid") or "")


def name(obj: dict[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def selector(deployment: dict[str, Any]) -> dict[str, str]:
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def is_terminating(pod: dict[str, Any]) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def is_ready(pod: dict[str, Any]) -> bool:
    ready = condition(pod, "Ready")
    return bool(ready and ready.get("status") == "True") and not is_terminating(pod)


def current_pod(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The pod serving the workspace: a Ready one if any, else the newest that is not being deleted."""
    alive = [p for p in pods if not is_terminating(p)]
    alive.sort(key=lambda p: str(meta(p).get("creationTimestamp") or ""), reverse=True)
    ready = [p for p in alive if is_ready(p)]
    chosen = ready or alive
    return chosen[0] if chosen else None


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def container_status(pod: dict[str, Any], container: str, *, init: bool) -> dict[str, Any] | None:
    key = "initContainerStatuses" if init else "containerStatuses"
    for status in (pod.get("status") or {}).get(key) or []:
        if status.get("name") == container:
            return dict(status)
    return None


def describe_phase(pod: dict[str, Any], init_container: str | None) -> str:
    status = pod.get("status") or {}
    words = [str(status.get("phase") or "Unknown")]
    if init_container:
        init = container_status(pod, init_container, init=True) or {}
        state = init.get("state") or {}
        if "running" in state:
            words.append(f"{init_container} running")
        elif "waiting" in state:
            words.append(f"{init_container} waiting: {(state['waiting'] or {}).get('reason', '')}")
        elif "terminated" in state and (state["terminated"] or {}).get("exitCode") not in (0, None):
            words.append(f"{init_container} exited {(state['terminated'] or {}).get('exitCode')}")
    words.append("Ready" if is_ready(pod) else "not Ready")
    return ", ".join(words)


def init_duration(pod: dict[str, Any], container: str) -> tuple[float | None, str]:
    """Seconds from the init container's start to its exit, as the kubelet recorded them (whole seconds)."""
    status = container_status(pod, container, init=True)
    if status is None:
        return None, f"pod {name(pod)} reports no init container {container}"
    terminated = (status.get("state") or {}).get("terminated")
    if not terminated:
        return None, f"init container {container} of pod {name(pod)} has not finished (state: {status.get('state')})"
    started, finished = parse_time(terminated.get("startedAt")), parse_time(terminated.get("finishedAt"))
    if started is None or finished is None:
        return None, f"init container {container} of pod {name(pod)} reports no startedAt/finishedAt"
    seconds = (finished - started).total_seconds()
    exit_code = terminated.get("exitCode")
    return seconds, (
        f"pod {name(pod)}: {container} ran {terminated.get('startedAt')} -> {terminated.get('finishedAt')} "
        f"({seconds:g} s recorded, exit code {exit_code})"
    )
