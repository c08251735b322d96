"""The landing redirect: a workspace's route sends exactly `/` to the project of its working directory.

OpenCode's UI keeps the open projects in the browser, so without the redirect every new device starts on an empty
home page. The target is written as `/${WORKSPACE_PROJECT_PATH}/session` because Flux substitution cannot
base64-encode; this rule proves the variable matches WORKSPACE_DIR (the app container's workingDir) after
substitution, and that the rule is one the Gateway API accepts and that leaves every other path alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ocw.findings import Finding, about
from ocw.kube.route import Route
from ocw.opencode.project_url import landing_path, project_path

RULE = "landing-redirect"
VARIABLE = "WORKSPACE_PROJECT_PATH"


def _redirect(rule: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for item in rule.get("filters") or []:
        if isinstance(item, Mapping) and item.get("type") == "RequestRedirect":
            redirect = item.get("requestRedirect")
            return redirect if isinstance(redirect, Mapping) else {}
    return None


def _matches_root_only(rule: Mapping[str, Any]) -> bool:
    matches = rule.get("matches") or []
    paths = [m.get("path") if isinstance(m, Mapping) else None for m in matches]
    return bool(paths) and all(
        isinstance(p, Mapping) and p.get("type") == "Exact" and p.get("value") == "/" for p in paths
    )


def check_landing(route: Route, working_dir: str | None) -> Iterator[Finding]:
    label = f"{route.kind}/{route.namespace}/{route.name}"
    where = f"route.{route.identifier}.rules" if route.identifier else "spec.rules"

    def finding(message: str) -> Finding:
        return about(route, RULE, message, label=label)

    if not working_dir:
        return
    expected = landing_path(working_dir)
    fix = f"set {VARIABLE}: {project_path(working_dir)} in the workspace's ks.yaml (base64url of {working_dir})"
    redirects: list[tuple[int, Mapping[str, Any], Mapping[str, Any]]] = []
    for index, candidate in enumerate(route.rules):
        redirect_of = _redirect(candidate)
        if redirect_of is not None:
            redirects.append((index, candidate, redirect_of))
    if not redirects:
        yield finding(
            f"no rule of {where} redirects `/`, so a new browser opens OpenCode on an empty home page instead of "
            f"{working_dir}: add a rule matching path Exact `/` with a RequestRedirect filter to {expected}"
        )
        return
    for index, rule, redirect in redirects:
        at = f"{where}[{index}]"
        if not _matches_root_only(rule):
            yield finding(
                f"{at} redirects requests other than exactly `/` (its matches: {rule.get('matches') or 'every path'}): "
                f"the UI's own pages and the API would be redirected too; match path type Exact, value `/`"
            )
        if rule.get("backendRefs"):
            yield finding(
                f"{at} has a RequestRedirect filter and backendRefs: the Gateway API forbids both in one rule; "
                f"remove its backendRefs"
            )
        raw_path = redirect.get("path")
        path: Mapping[str, Any] = raw_path if isinstance(raw_path, Mapping) else {}
        target = path.get("replaceFullPath") if path.get("type") == "ReplaceFullPath" else None
        if target != expected:
            found = f"to {target}" if target else f"with path {dict(path) or 'unchanged'}"
            yield finding(
                f"{at} redirects `/` {found}, but the workspace's directory is {working_dir}, whose project page is "
                f"{expected}: {fix}"
            )
