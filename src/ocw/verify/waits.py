"""Bounded waits for `--disruptive`: a replacement pod Ready, the workspace answering again. Progress goes to
stderr; a wait that reaches its bound raises WaitTimeout saying what was last seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ocw.errors import OcwError
from ocw.verify.context import VerifyContext
from ocw.verify.endpoint import Endpoint
from ocw.verify.pods import describe_phase, is_ready, is_terminating, meta, name, uid
from ocw.workspace import Workspace

PROGRESS_EVERY = 10.0


class WaitTimeout(OcwError):
    pass


class Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self.start = clock()

    def elapsed(self) -> float:
        return self._clock() - self.start

    def remaining(self) -> float:
        return max(0.0, self.seconds - self.elapsed())

    def passed(self) -> bool:
        return self.remaining() <= 0


def wait_for_new_pod(ctx: VerifyContext, ws: Workspace, old: set[str], deadline: Deadline, why: str) -> dict[str, Any]:
    """A Ready pod of the workspace whose uid is not in `old`."""
    init = ws.init_container.name if ws.init_container else None
    last_line, last_print = "", -PROGRESS_EVERY
    while True:
        pods = [p for p in ctx.pods(ws) if uid(p) not in old and not is_terminating(p)]
        pods.sort(key=lambda p: str(meta(p).get("creationTimestamp") or ""), reverse=True)
        ready = [p for p in pods if is_ready(p)]
        if ready:
            ctx.options.progress(f"{ws.name}: pod {name(ready[0])} Ready after {deadline.elapsed():.0f} s")
            return ready[0]
        line = f"pod {name(pods[0])}: {describe_phase(pods[0], init)}" if pods else "no replacement pod yet"
        if line != last_line or deadline.elapsed() - last_print >= PROGRESS_EVERY:
            ctx.options.progress(f"{ws.name}: {why}: {line} ({deadline.elapsed():.0f}/{deadline.seconds:.0f} s)")
            last_line, last_print = line, deadline.elapsed()
        if deadline.passed():
            raise WaitTimeout(
                f"{ws.name}: no new Ready pod within {deadline.seconds:g} s after {why} (last seen: {line})",
                hint=f"`kubectl -n {ws.namespace} get pods` and `kubectl -n {ws.namespace} describe pod`; "
                "raise --timeout if the image pull or volume attach is slow",
            )
        time.sleep(min(ctx.options.poll_interval, max(deadline.remaining(), 0.05)))


def wait_for_http(ctx: VerifyContext, endpoint: Endpoint, deadline: Deadline) -> None:
    """The workspace answers an authenticated request again."""
    client = endpoint.client()
    while not client.is_ready():
        if deadline.passed():
            raise WaitTimeout(
                f"{endpoint.workspace}: {endpoint.url} did not answer with the password within {deadline.seconds:g} s",
                hint="the pod is Ready but the route does not reach it: check the HTTPRoute (P2.0/P3.0)",
            )
        time.sleep(min(ctx.options.poll_interval, max(deadline.remaining(), 0.05)))
    ctx.options.progress(f"{endpoint.workspace}: answering at {endpoint.url}")
