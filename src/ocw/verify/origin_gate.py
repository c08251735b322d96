"""SEC.3: the live route refuses requests another page sends, and lets the workspace's own through.

Without credentials, so nothing changes whatever the route does: a request with a foreign Origin must get the
gateway's 403 (OpenCode itself would answer 401, asking for the password), and one with the workspace's own Origin
must reach OpenCode (its 401 Basic challenge). The foreign Origins are those `ocw check` (rule origin-gate) asks the
route about: another host of the same site, the site's apex, another site and `null`.
"""

from __future__ import annotations

from ocw.check.origin_gate import foreign_origins
from ocw.opencode.client import OpenCodeError
from ocw.verify.endpoint import Endpoint
from ocw.verify.result import Outcome, failed, passed

PROBE = "/global/health"  # read-only, and behind OpenCode's password
FIX = (
    "the route lacks the Origin gate: run `ocw check` (rule origin-gate), push, and let Flux reconcile the HelmRelease "
    "and the HTTPRouteFilter (docs/security.md)"
)


def check_origin_gate(endpoint: Endpoint) -> Outcome:
    client = endpoint.client(password="")
    evidence: list[str] = []
    try:
        for origin, who in foreign_origins(endpoint.hostname)[:4]:
            answer = client.request("GET", PROBE, authenticated=False, headers={"Origin": origin})
            if answer.status_code != 403:
                reached = " (OpenCode's own answer: the request reached it)" if answer.status_code == 401 else ""
                return failed(
                    f"HTTP 403 from the gateway for GET {PROBE} with Origin: {origin} ({who})",
                    f"HTTP {answer.status_code}{reached}",
                    FIX,
                    *evidence,
                )
            evidence.append(f"Origin: {origin} ({who}): HTTP 403")
        own = f"https://{endpoint.hostname}"
        answer = client.request("GET", PROBE, authenticated=False, headers={"Origin": own})
    except OpenCodeError as exc:
        return failed(f"the workspace to answer at {endpoint.url}", str(exc), "fix P2.1/P3.1 first", *evidence)
    challenge = answer.headers.get("www-authenticate", "")
    if answer.status_code != 401 or not challenge.lower().startswith("basic"):
        return failed(
            f"GET {PROBE} with the workspace's own Origin ({own}) to reach OpenCode (401, Basic challenge)",
            f"HTTP {answer.status_code}",
            "the route refuses the workspace's own pages: the Exact Origin rule must come before the refusing one "
            "(ocw check, rule origin-gate)",
            *evidence,
        )
    evidence.append(f"Origin: {own} (the workspace's own pages): reaches OpenCode (HTTP 401, its password challenge)")
    return passed(*evidence)
