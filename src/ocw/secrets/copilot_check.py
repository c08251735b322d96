"""Asking GitHub whether a stored Copilot login still works: `GET <copilot api>/models` with the token as Bearer.

OpenCode shows any stored token as "connected"; only GitHub knows whether it was revoked. The API base is
`https://api.githubcopilot.com` (`https://copilot-api.<host>` for GitHub Enterprise); `OCW_COPILOT_API_URL`
replaces it (a proxy, or a local server in tests).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ocw import __version__
from ocw.secrets.copilot import CopilotAuth

COPILOT_API_ENV = "OCW_COPILOT_API_URL"
DEFAULT_COPILOT_API = "https://api.githubcopilot.com"

Verdict = Literal["accepted", "rejected", "unknown"]


@dataclass(frozen=True)
class TokenCheck:
    verdict: Verdict
    detail: str


def copilot_api_base(auth: CopilotAuth, environ: Mapping[str, str]) -> str:
    override = environ.get(COPILOT_API_ENV, "").strip()
    if override:
        return override.rstrip("/")
    if auth.enterprise_url:
        url = auth.enterprise_url
        host = urlsplit(url if "://" in url else f"https://{url}").hostname or url
        return f"https://copilot-api.{host}"
    return DEFAULT_COPILOT_API


def check_token(auth: CopilotAuth, environ: Mapping[str, str] | None = None, timeout: float = 15.0) -> TokenCheck:
    base = copilot_api_base(auth, os.environ if environ is None else environ)
    headers = {
        "Authorization": f"Bearer {auth.token}",
        "Accept": "application/json",
        "Copilot-Integration-Id": "vscode-chat",
        "User-Agent": f"ocw/{__version__}",
    }
    import httpx  # noqa: PLC0415 - only for `--online`: every `ocw secrets` command imports this module

    try:
        with httpx.Client(timeout=timeout) as client:
            response = client.get(f"{base}/models", headers=headers)
    except httpx.TimeoutException:
        return TokenCheck("unknown", f"{base} did not answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return TokenCheck("unknown", f"could not reach {base}: {type(exc).__name__}")
    if response.status_code in (401, 403):
        return TokenCheck("rejected", f"GitHub answered HTTP {response.status_code}: the login was revoked or expired")
    if not response.is_success:
        return TokenCheck("unknown", f"{base}/models answered HTTP {response.status_code}")
    try:
        models = response.json().get("data")
    except (ValueError, AttributeError):
        models = None
    count = f"{len(models)} models listed" if isinstance(models, list) else "models listed"
    return TokenCheck("accepted", f"GitHub accepts the token ({count})")
