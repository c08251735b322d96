"""Turning what Doppler answered into an error a person can act on. Both transports share these words."""

from __future__ import annotations

from ocw.errors import OcwError
from ocw.secrets.location import StoreLocation

_LOGIN_HINT = "run `doppler login` (or export DOPPLER_TOKEN with a token that can write the config)"
_RERUN_HINT = "re-running is safe: values already written are compared and left alone"


def not_logged_in() -> OcwError:
    return OcwError("the Doppler CLI is not logged in: it has no token for this directory", hint=_LOGIN_HINT)


def token_rejected(detail: str) -> OcwError:
    return OcwError(f"Doppler rejected the token: {detail}", hint=_LOGIN_HINT)


def timed_out(api_host: str, timeout: float) -> OcwError:
    return OcwError(
        f"Doppler ({api_host}) did not answer within {timeout:g} s",
        hint="check the network (and DOPPLER_API_HOST if set); raise OCW_DOPPLER_TIMEOUT for a slow link; "
        + _RERUN_HINT,
    )


def unreachable(api_host: str, detail: str) -> OcwError:
    return OcwError(
        f"could not reach Doppler at {api_host}: {detail}",
        hint="check the network and DOPPLER_API_HOST; " + _RERUN_HINT,
    )


def from_messages(messages: str, status: int | None, location: StoreLocation, action: str) -> OcwError:
    """An error for Doppler's own message text (`{"messages": [...]}` from the API, or the CLI's `error`)."""
    lowered = messages.lower()
    if "must provide a token" in lowered:
        return not_logged_in()
    if status == 401 or "invalid auth token" in lowered or "unauthorized" in lowered:
        return token_rejected(messages)
    if "could not find requested project" in lowered:
        return OcwError(
            f"Doppler has no project {location.project!r} that this token can see "
            f"(project from {location.project_source})",
            hint="pass --project (or set DOPPLER_PROJECT) to the project the cluster's secret store reads, "
            "or create it in Doppler",
        )
    if "could not find requested config" in lowered or "could not find requested environment" in lowered:
        return OcwError(
            f"Doppler project {location.project!r} has no config {location.config!r} that this token can see "
            f"(config from {location.config_source})",
            hint="pass --config (or set DOPPLER_CONFIG) to the config the cluster's secret store reads",
        )
    if status == 403 or "permission" in lowered or "forbidden" in lowered:
        return OcwError(
            f"Doppler refused to {action} in {location.project}/{location.config}: {messages}",
            hint="use a token with write access to that config (a read-only service token cannot write)",
        )
    where = f" (HTTP {status})" if status else ""
    return OcwError(f"Doppler failed to {action} in {location.project}/{location.config}{where}: {messages}")
