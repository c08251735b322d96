"""MON.2: did the workspace's Copilot login work the last time it was used? Read from OpenCode's API, without sending
a request to Copilot.

What OpenCode 1.18's API can and cannot tell (docs/monitoring.md#copilot-login):
- `GET /provider` lists github-copilot as `connected` (and `GET /config/providers` among its providers) whenever
  auth.json holds a Copilot entry, valid or not; no field says whether GitHub still accepts it. (On start OpenCode
  asks GitHub for the model list with the login and silently falls back to its bundled catalogue when GitHub refuses;
  which list it shows is not reported either.)
- Every answer OpenCode got is recorded on its assistant message (`GET /session/:id/message`): `providerID`, the time,
  and, when the request failed, `error` (`APIError` with GitHub's `statusCode`, or `ProviderAuthError`). So the outcome
  of the latest Copilot request is known, however old it is; whether the login works now is not, without a request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocw.errors import OcwError
from ocw.opencode.client import OpenCodeError
from ocw.verify.endpoint import Endpoint
from ocw.verify.result import Outcome, failed, passed, skipped

COPILOT = "github-copilot"
SESSIONS_READ = 20  # the most recently updated sessions; older ones cannot hold a later answer of theirs
MESSAGES_READ = 200  # per session, the latest ones
REFUSED = frozenset({401, 403})  # GitHub refuses the login (expired, revoked, no Copilot seat)
ACCEPTED = frozenset({400, 404, 408, 409, 413, 422, 429})  # GitHub took the login and refused the request itself
REAUTH = "log in again on your machine (`opencode auth login`), then scripts/seed-copilot-auth.sh (docs/reauth.md)"


def _when(milliseconds: Any) -> str:
    return datetime.fromtimestamp(int(milliseconds) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def latest_copilot_answer(endpoint: Endpoint) -> tuple[dict[str, Any] | None, int]:
    """The latest assistant message answered (or refused) by Copilot, and how many sessions were read."""
    client = endpoint.client()
    sessions = list(client.get_json("/session"))
    sessions.sort(key=lambda s: (s.get("time") or {}).get("updated") or 0, reverse=True)
    latest: dict[str, Any] | None = None
    for session in sessions[:SESSIONS_READ]:
        for message in client.get_json(f"/session/{session['id']}/message?limit={MESSAGES_READ}"):
            info = message.get("info") or {}
            if info.get("role") != "assistant" or info.get("providerID") != COPILOT:
                continue
            if latest is None or (info.get("time") or {}).get("created", 0) > latest["time"]["created"]:
                latest = {**info, "session_title": session.get("title") or session["id"]}
    return latest, min(len(sessions), SESSIONS_READ)


def check_copilot_last_use(endpoint: Endpoint, since: datetime | None = None) -> Outcome:
    """`since`: when the running server started (the pod's start); a refusal before it may predate a new login."""
    try:
        latest, read = latest_copilot_answer(endpoint)
    except OcwError as exc:
        return failed(f"the password of {endpoint.workspace}", exc.message, exc.hint or "see docs/verify.md")
    except OpenCodeError as exc:
        return failed(f"OpenCode's session API to answer at {endpoint.url}", str(exc), "is the workspace running?")
    if latest is None:
        return skipped(
            f"no Copilot answer in the {read} most recently used session(s): whether the login works can only be "
            "known by using it; OpenCode lists any stored login as connected (docs/monitoring.md#copilot-login)"
        )
    created = latest["time"]["created"]
    where = (
        f"the latest Copilot request ({latest.get('modelID')}, {_when(created)}, session {latest['session_title']!r})"
    )
    error = latest.get("error") or {}
    data = error.get("data") or {}
    status = data.get("statusCode")
    note = "OpenCode records each answer; the login is not tried again here (no request is sent to Copilot)"
    if not error:
        return passed(f"{where} was answered: the login worked then", note)
    if error.get("name") == "ProviderAuthError" or status in REFUSED:
        said = f"{error.get('name')}" + (f" HTTP {status}" if status else "") + f": {str(data.get('message'))[:160]}"
        if since is not None and created / 1000 < since.timestamp():
            return skipped(
                f"{where} was refused ({said}), but before the server started ({since:%Y-%m-%dT%H:%M:%SZ}), perhaps "
                "with a login since replaced; nothing has used Copilot since",
                note,
            )
        return failed("GitHub to accept the Copilot login", f"{where} was refused: {said}", REAUTH, note)
    if status in ACCEPTED:
        return passed(f"{where} failed with HTTP {status}, a refusal of the request, not of the login", note)
    return skipped(
        f"{where} failed ({error.get('name')}" + (f", HTTP {status}" if status else "") + "), which does not tell "
        "whether the login works",
        note,
    )
