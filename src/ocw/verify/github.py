"""SEC.2: what the workspace's PAT can do, and the guard that makes it acceptable (docs/security.md).

Read-only, through GitHub's REST API with the workspace's own token: `GET /repos/{owner}/{repo}` (the default
branch; for a classic token the `X-OAuth-Scopes` header lists its scopes) and `GET /repos/{owner}/{repo}/rules/
branches/{branch}` (every active ruleset rule on that branch). The default branch must carry a `pull_request` rule,
so a push from the workspace lands on a branch and never on what Flux applies; a classic token (every repository
the user can reach) or one with the `workflow` or admin scopes is reported. The token is sent only to the API base.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ocw.verify.result import Outcome, failed, passed

if TYPE_CHECKING:
    import httpx

GITHUB_API = "https://api.github.com"
API_VERSION = "2022-11-28"
_REPOSITORY = re.compile(r"^https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")
# Classic scopes no workspace token may carry: each reaches beyond pushing a branch of one repository.
FORBIDDEN_SCOPES = ("repo", "workflow", "admin:org", "admin:repo_hook", "delete_repo", "admin:public_key")
PR_RULE = "pull_request"


def repository_slug(url: str) -> tuple[str, str] | None:
    match = _REPOSITORY.match(url)
    return (match.group(1), match.group(2)) if match else None


def _get(client: httpx.Client, path: str) -> tuple[httpx.Response | None, str]:
    import httpx  # noqa: PLC0415 - as in check_github_guard

    try:
        return client.get(path), ""
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def check_github_guard(repository_url: str, token: str, *, api: str = GITHUB_API, timeout: float = 10.0) -> Outcome:
    slug = repository_slug(repository_url)
    if slug is None:
        return failed(
            "a https://github.com/<owner>/<repo> repository",
            repository_url or "no WORKSPACE_GIT_REPOSITORY",
            "this check reads GitHub's API; for another host, check its branch protection by hand",
        )
    if not token:
        return failed(
            "the workspace's PAT in its Secret",
            "no token",
            "seed <PREFIX>_GITHUB_PAT in Doppler (ocw secrets init) and let the ExternalSecret sync",
        )
    owner, repo = (quote(part, safe="") for part in slug)
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }
    # Only when the check runs: `ocw verify --help` reads GITHUB_API from here, and httpx takes a tenth of a second.
    import httpx  # noqa: PLC0415

    with httpx.Client(base_url=api, headers=headers, timeout=timeout) as client:
        response, error = _get(client, f"/repos/{owner}/{repo}")
        if response is None:
            return failed(f"an answer from {api}", error, "check this machine's network access to the GitHub API")
        if response.status_code in (401, 403, 404):
            return failed(
                f"the PAT to read {slug[0]}/{slug[1]} (GET /repos/{{owner}}/{{repo}})",
                f"HTTP {response.status_code}",
                "the token is wrong, expired or not granted this repository: issue a fine-grained PAT for it "
                "(docs/security.md) and update <PREFIX>_GITHUB_PAT in Doppler",
            )
        if response.status_code != 200:
            return failed("HTTP 200 for the repository", f"HTTP {response.status_code}", "retry later")
        info: dict[str, Any] = response.json()
        scopes_header = response.headers.get("x-oauth-scopes")
        branch = str(info.get("default_branch") or "main")
        rules_response, error = _get(client, f"/repos/{owner}/{repo}/rules/branches/{quote(branch, safe='')}")
    if rules_response is None or rules_response.status_code != 200:
        seen = error or f"HTTP {rules_response.status_code if rules_response else '?'}"
        return failed(f"the rules of branch {branch}", seen, "the token needs metadata:read on the repository")
    rules = [r for r in rules_response.json() if isinstance(r, dict)]
    rule_types = sorted({str(r.get("type")) for r in rules})
    permissions = info.get("permissions") or {}
    granted = ", ".join(k for k in ("admin", "maintain", "push", "triage", "pull") if permissions.get(k)) or "none"
    evidence = [
        f"default branch {branch}: active rules {', '.join(rule_types) or 'none'}",
        f"repository permissions the API reports for the token's user: {granted}",
    ]
    review = next((r.get("parameters") or {} for r in rules if r.get("type") == PR_RULE), None)
    if review is not None:
        approvals = review.get("required_approving_review_count", 0)
        evidence.append(
            f"pull requests into {branch} need {approvals} approval(s)"
            + (": the token's user could merge its own pull request" if not approvals else "")
        )
    if scopes_header is not None:
        scopes = [s.strip() for s in scopes_header.split(",") if s.strip()]
        evidence.append(f"classic token, scopes: {', '.join(scopes) or 'none'}")
        too_wide = [s for s in scopes if s in FORBIDDEN_SCOPES or s.startswith("admin:")]
        if too_wide:
            return failed(
                "a fine-grained PAT for this one repository (contents and pull requests read/write)",
                f"a classic token with {', '.join(too_wide)}: it reaches every repository of the user",
                "issue a fine-grained PAT (docs/security.md), put it in <PREFIX>_GITHUB_PAT, revoke the old one",
                *evidence,
            )
    else:
        evidence.append("fine-grained token (no classic scopes)")
    if PR_RULE not in rule_types:
        return failed(
            f"a ruleset on {branch} that requires pull requests",
            f"no pull_request rule on {branch}: a push from the workspace would land on what Flux applies",
            f"add a branch ruleset targeting {branch} with 'Require a pull request before merging' (and block force "
            "pushes and deletion), with no bypass for the token's user (docs/security.md)",
            *evidence,
        )
    return passed(*evidence)
