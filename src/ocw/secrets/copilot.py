"""OpenCode's Copilot login: reading the `github-copilot` entry of `auth.json` and writing it back canonically.

OpenCode keeps credentials in `$XDG_DATA_HOME/opencode/auth.json` (default `~/.local/share/opencode/auth.json`; it
uses the XDG layout on macOS too), keyed by provider. The Copilot entry is
`{"type": "oauth", "refresh": "gho_…", "access": "gho_…", "expires": 0}`, plus `enterpriseUrl` for GitHub Enterprise.
The workspace init step copies the stored document to the pod's `auth.json` whenever its hash changes, so the
document is serialised canonically (sorted keys, no whitespace): the same login always gives the same bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocw.errors import OcwError
from ocw.inputs import read_text

PROVIDER = "github-copilot"
_KNOWN_TYPES = ("api", "oauth", "wellknown")
_LOGIN_HINT = "run `opencode auth login`, choose GitHub Copilot, then run this again"


def default_auth_file(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    data_home = env.get("XDG_DATA_HOME", "").strip()
    base = Path(data_home) if data_home else Path(env.get("HOME") or Path.home()) / ".local" / "share"
    return base / "opencode" / "auth.json"


@dataclass(frozen=True)
class CopilotAuth:
    entry: Mapping[str, Any]

    @property
    def token(self) -> str:
        return str(self.entry["refresh"])

    @property
    def enterprise_url(self) -> str | None:
        url = self.entry.get("enterpriseUrl")
        return str(url) if url else None

    def document(self) -> str:
        """The auth.json the init step installs: only the Copilot entry, canonical bytes."""
        return json.dumps({PROVIDER: dict(self.entry)}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def read_auth_file(path: Path) -> CopilotAuth:
    if not path.exists():
        raise OcwError(f"OpenCode's auth file was expected at {path} but does not exist", hint=_LOGIN_HINT)
    if path.is_dir():
        raise OcwError(f"{path} is a directory, not OpenCode's auth file", hint="pass --auth-file with the file")
    text = read_text(
        path, "OpenCode's auth file", hint="check the file's permissions (OpenCode writes it mode 0600 for your user)"
    )
    return parse_auth_document(text, str(path))


def parse_auth_document(text: str, source: str) -> CopilotAuth:
    """Validate an auth document (a whole auth.json or a stored one) and keep its Copilot entry."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        # The position only: the text around it may be a token.
        raise OcwError(
            f"{source} is not JSON (parse error at line {getattr(exc, 'lineno', '?')}, "
            f"column {getattr(exc, 'colno', '?')})",
            hint=_LOGIN_HINT,
        ) from None
    if not isinstance(document, dict):
        raise OcwError(
            f"{source} should hold a JSON object keyed by provider, found {_kind(document)}", hint=_LOGIN_HINT
        )
    if PROVIDER not in document:
        providers = ", ".join(sorted(str(k) for k in document)) or "none"
        raise OcwError(f"{source} has no {PROVIDER!r} entry (providers present: {providers})", hint=_LOGIN_HINT)
    entry = document[PROVIDER]
    if not isinstance(entry, dict):
        raise OcwError(f"{source}: {PROVIDER!r} should be an object, found {_kind(entry)}", hint=_LOGIN_HINT)
    _check_entry(entry, source)
    return CopilotAuth(entry)


def _check_entry(entry: Mapping[str, Any], source: str) -> None:
    where = f"{source}: {PROVIDER}"
    if entry.get("type") != "oauth":
        kind = entry.get("type")
        # Only OpenCode's own type names are quoted back: any other string could be a misplaced token.
        found = repr(kind) if kind in _KNOWN_TYPES else _kind(kind)
        raise OcwError(f"{where}.type should be 'oauth', found {found}", hint=_LOGIN_HINT)
    refresh = entry.get("refresh")
    if not isinstance(refresh, str) or not refresh.strip():
        found = "an empty string" if isinstance(refresh, str) else _kind(refresh)
        raise OcwError(f"{where}.refresh should be a non-empty token string, found {found}", hint=_LOGIN_HINT)
    if "access" in entry and not isinstance(entry["access"], str):
        raise OcwError(f"{where}.access should be a string, found {_kind(entry['access'])}", hint=_LOGIN_HINT)
    expires = entry.get("expires")
    if "expires" in entry and (isinstance(expires, bool) or not isinstance(expires, int | float)):
        raise OcwError(f"{where}.expires should be a number, found {_kind(expires)}", hint=_LOGIN_HINT)
    url = entry.get("enterpriseUrl")
    if "enterpriseUrl" in entry and url is not None and (not isinstance(url, str) or not url.strip()):
        raise OcwError(f"{where}.enterpriseUrl should be a non-empty string, found {_kind(url)}", hint=_LOGIN_HINT)


def _kind(value: Any) -> str:
    """Names a JSON value's type without showing it (it may be a token)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
