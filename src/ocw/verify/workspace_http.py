"""The workspace-level checks, the same code for a cluster workspace (HTTPS) and a local one (`--local`):
the password challenge, the password accepted, Copilot connected with models, the working directory."""

from __future__ import annotations

import json
import ssl
from typing import Any
from urllib.parse import urljoin, urlsplit

from ocw.errors import OcwError
from ocw.opencode.client import OpenCodeClient, OpenCodeError
from ocw.opencode.project_url import directory_of, landing_path, project_path
from ocw.verify.endpoint import Endpoint
from ocw.verify.result import Outcome, failed, passed
from ocw.verify.tls import handshake

COPILOT = "github-copilot"


def _unreachable(endpoint: Endpoint, exc: Exception) -> Outcome:
    if "answered 401" in str(exc):
        return failed(
            f"the password of {endpoint.workspace} to be accepted",
            str(exc),
            "the pod may still run with an older password: restart it, or re-sync the ExternalSecret",
        )
    hint = (
        f"check that {endpoint.hostname} resolves to the gateway from this machine, or route it with "
        f"--connect-to {endpoint.hostname}=ADDR:443"
        if endpoint.is_https
        else "check that the local workspace is still running (`ocw up` prints its URL)"
    )
    return failed(f"the workspace to answer at {endpoint.url}", str(exc), hint)


def _no_password(endpoint: Endpoint, exc: OcwError) -> Outcome:
    return failed(f"the password of {endpoint.workspace}", exc.message, exc.hint or "see docs/verify.md")


REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _follow_landing(endpoint: Endpoint, client: OpenCodeClient, directory: str, evidence: list[str]) -> Outcome | None:
    """`/` must redirect to the project page of `directory`; None when it does. That page is the one `check_access`
    fetched first with the password and checked serves the UI: the redirect is compared with it, not followed to ask
    the server for the same page again."""
    expected = landing_path(directory)
    root = client.request("GET", "/")
    location = root.headers.get("location", "")
    if root.status_code not in REDIRECTS or not location:
        return failed(
            f"`/` to redirect to {expected}, the project page of {directory} (the manifest's WORKSPACE_DIR)",
            f"HTTP {root.status_code} without a redirect",
            "the route lacks the landing rule: run `ocw check` (rule landing-redirect), push, and let Flux "
            "reconcile the HelmRelease",
            *evidence,
        )
    target = urljoin(endpoint.url + "/", location)
    opens = directory_of(target)
    if urlsplit(target).hostname != endpoint.hostname or urlsplit(target).path != expected:
        return failed(
            f"`/` to redirect to {expected}, the project page of {directory} (the manifest's WORKSPACE_DIR)",
            f"HTTP {root.status_code} to {target}" + (f" (the project {opens})" if opens else " (no project page)"),
            f"set WORKSPACE_PROJECT_PATH: {project_path(directory)} in the workspace's ks.yaml (`ocw check` names it)",
            *evidence,
        )
    evidence.append(f"with the password: / redirects ({root.status_code}) to {target}, the project {directory}")
    return None


def check_access(endpoint: Endpoint, landing_dir: str | None = None) -> Outcome:
    """TLS (for https), 401 + Basic challenge without credentials, the UI and the API with the password.

    With `landing_dir` (the cluster, where the route redirects `/`), `/` must lead to that directory's project
    page; locally there is no gateway and `/` serves the UI itself.
    """
    evidence: list[str] = []
    if endpoint.is_https:
        context = endpoint.tls or ssl.create_default_context()
        result = handshake(endpoint.hostname, endpoint.address(), context, endpoint.timeout)
        if not result.ok:
            return failed(
                f"a certificate trusted here that covers {endpoint.hostname}",
                result.detail,
                "check P1.2 (Certificate Ready) and that the Gateway listener for *.opencode presents its Secret "
                "(`kubectl -n network get gateway envoy-internal -o yaml`); pass --ca-file for a private CA",
            )
        evidence.append(f"TLS: {result.detail}")
    else:
        evidence.append(f"{endpoint.url}: plain HTTP on {endpoint.where} (no TLS to check)")
    try:
        # On the cluster the gateway answers `/` itself (the landing redirect): ask where the server answers.
        first = landing_path(landing_dir) if landing_dir else "/"
        anonymous = endpoint.client(password="").request("GET", first, authenticated=False)
    except OpenCodeError as exc:
        return _unreachable(endpoint, exc)
    challenge = anonymous.headers.get("www-authenticate", "")
    if anonymous.status_code != 401 or not challenge.lower().startswith("basic"):
        open_server = anonymous.status_code == 200
        return failed(
            "401 with a `WWW-Authenticate: Basic` challenge for a request without credentials",
            f"HTTP {anonymous.status_code}" + (f", WWW-Authenticate: {challenge}" if challenge else ", no challenge"),
            "the server is open to anyone: set OPENCODE_SERVER_PASSWORD in the pod (from the workspace Secret)"
            if open_server
            else "check what answers on that hostname (the route's backend, the gateway)",
            *evidence,
        )
    evidence.append(f"without credentials: HTTP 401, WWW-Authenticate: {challenge}")
    try:
        client = endpoint.client()
        page = client.request("GET", first)
        sessions = client.request("GET", "/session")
        landing = _follow_landing(endpoint, client, landing_dir, evidence) if landing_dir else None
    except OcwError as exc:
        return _no_password(endpoint, exc)
    except OpenCodeError as exc:
        return _unreachable(endpoint, exc)
    if page.status_code == 401 or sessions.status_code == 401:
        return failed(
            "the workspace password to be accepted",
            "HTTP 401 with the password",
            "the pod may still run with an older password: restart it, or re-sync the ExternalSecret",
            *evidence,
        )
    content_type = page.headers.get("content-type", "")
    if page.status_code != 200 or "text/html" not in content_type:
        return failed(
            f"the OpenCode web UI (HTTP 200, text/html) at {first}",
            f"HTTP {page.status_code}, content-type {content_type or 'none'}",
            "check the server's log (kubectl logs) for startup errors",
            *evidence,
        )
    if sessions.status_code != 200:
        return failed("GET /session to answer 200", f"HTTP {sessions.status_code}", "check the server's log", *evidence)
    if landing is not None:
        return landing
    count = len(sessions.json())
    evidence.append(f"with the password: {first} serves the web UI (text/html), /session lists {count} session(s)")
    return passed(*evidence)


def copilot_models(configured: dict[str, Any]) -> list[str]:
    for provider in configured.get("providers") or []:
        if isinstance(provider, dict) and provider.get("id") == COPILOT:
            return sorted(str(m) for m in (provider.get("models") or {}))
    return []


def check_copilot(endpoint: Endpoint) -> Outcome:
    try:
        configured = endpoint.client().configured_providers()
    except OcwError as exc:
        return _no_password(endpoint, exc)
    except OpenCodeError as exc:
        return _unreachable(endpoint, exc)
    connected = [str(p.get("id")) for p in configured.get("providers") or [] if isinstance(p, dict)]
    models = copilot_models(configured)
    if COPILOT not in connected or not models:
        seen = f"connected: {', '.join(connected) or 'none'}; {COPILOT} models: {len(models)}"
        return failed(
            f"{COPILOT} among the connected providers, with its models listed (GET /config/providers)",
            seen,
            "seed the login: scripts/seed-copilot-auth.sh, then restart the pod (Reloader does it when the Secret "
            "changes); the init log says whether it seeded Copilot",
        )
    sample = ", ".join(models[:3]) + (", ..." if len(models) > 3 else "")
    return passed(f"connected: {', '.join(connected)}", f"{COPILOT}: {len(models)} models ({sample})")


REQUIRED_CONFIG = {"share": "disabled", "autoupdate": False}


def check_config(endpoint: Endpoint) -> Outcome:
    """The workspace's OpenCode config is in force: what GET /config answers, not what the manifest says."""
    try:
        config = endpoint.client().get_json("/config")
    except OcwError as exc:
        return _no_password(endpoint, exc)
    except OpenCodeError as exc:
        return _unreachable(endpoint, exc)
    seen = {key: config.get(key) for key in REQUIRED_CONFIG}
    evidence = "GET /config: " + ", ".join(f"{key}={json.dumps(value)}" for key, value in seen.items())
    if seen != REQUIRED_CONFIG:
        return failed(
            ", ".join(f"{key}={json.dumps(value)}" for key, value in REQUIRED_CONFIG.items()),
            evidence,
            "OPENCODE_CONFIG must point at the workspace's opencode.json (ocw check rule opencode-config); a "
            "project opencode.json in the repository may override it",
        )
    return passed(evidence)


def check_working_dir(endpoint: Endpoint, expected: str) -> Outcome:
    try:
        client = endpoint.client()
        paths = client.paths()
        project = client.current_project()
    except OcwError as exc:
        return _no_password(endpoint, exc)
    except OpenCodeError as exc:
        return _unreachable(endpoint, exc)
    directory = str(paths.get("directory"))
    worktree = str(project.get("worktree"))
    vcs = project.get("vcs")
    evidence = (f"GET /path directory: {directory}", f"GET /project/current worktree: {worktree} (vcs: {vcs})")
    if directory != expected:
        return failed(
            f"the server to run in {expected} (the manifest's workingDir)",
            f"directory {directory}",
            "check the container's workingDir and that the init container cloned there (its log says where)",
            *evidence,
        )
    if worktree != expected or vcs != "git":
        return failed(
            f"{expected} to be the root of a git clone",
            f"worktree {worktree}, vcs {vcs}",
            "the clone is missing or broken: read the init container's log; a broken clone is moved aside and "
            "re-cloned at the next start. If the log says the clone is fine, the OpenCode image may lack git "
            "(`kubectl exec` into the app container and run `git --version`)",
            *evidence,
        )
    return passed(*evidence)
