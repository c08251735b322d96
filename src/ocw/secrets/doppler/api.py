"""Doppler's REST API (v3) as a transport, for machines with a DOPPLER_TOKEN and no CLI.

Endpoints (https://docs.doppler.com/reference/api): `GET /v3/configs/config/secrets/names`,
`GET /v3/configs/config/secrets?secrets=A,B`, `POST /v3/configs/config/secrets` with
`{"project", "config", "secrets": {...}}`, `GET /v3/configs/config/logs`. Bearer authentication; errors carry
`{"messages": [...]}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from ocw import __version__
from ocw.errors import OcwError
from ocw.secrets.base import SecretStore
from ocw.secrets.doppler import errors
from ocw.secrets.doppler.common import DEFAULT_API_HOST, changes_from_logs, require_value, values_from_secrets
from ocw.secrets.location import StoreLocation
from ocw.secrets.redact import redact


class DopplerApiStore(SecretStore):
    transport = "Doppler's REST API"

    def __init__(self, location: StoreLocation, token: str, *, api_host: str | None, timeout: float) -> None:
        super().__init__(location)
        self.api_host = (api_host or DEFAULT_API_HOST).rstrip("/")
        self.timeout = timeout
        self._token = token

    def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        secrets: Iterable[str] = (),
    ) -> Any:
        query = {"project": self.project, "config": self.config, **(params or {})}
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "User-Agent": f"ocw/{__version__}",
        }
        try:
            with httpx.Client(timeout=self.timeout) as client:
                response = client.request(
                    method, f"{self.api_host}{path}", params=query if body is None else None, json=body, headers=headers
                )
        except httpx.TimeoutException as exc:
            raise errors.timed_out(self.api_host, self.timeout) from exc
        except httpx.HTTPError as exc:
            raise errors.unreachable(self.api_host, type(exc).__name__) from exc
        if response.is_success:
            try:
                return response.json()
            except ValueError as exc:
                raise OcwError(
                    f"Doppler's answer to `{action}` was not JSON (HTTP {response.status_code})",
                    hint=f"check that DOPPLER_API_HOST ({self.api_host}) points at Doppler's API",
                ) from exc
        detail = redact(_messages(response), [*secrets, self._token])
        raise errors.from_messages(detail, response.status_code, self.location, action)

    def names(self) -> set[str]:
        document = self._request("GET", "/v3/configs/config/secrets/names", action="list secret names")
        names = document.get("names") if isinstance(document, dict) else None
        return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()

    def get_many(self, names: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(names))
        if not wanted:
            return {}
        document = self._request(
            "GET",
            "/v3/configs/config/secrets",
            action="read secrets",
            params={"secrets": ",".join(wanted), "include_dynamic_secrets": "false"},
        )
        secrets = document.get("secrets") if isinstance(document, dict) else None
        return values_from_secrets(secrets, wanted)

    def set(self, name: str, value: str) -> None:
        require_value(name, value)
        # The response lists the whole config with values: it is read for success and dropped.
        self._request(
            "POST",
            "/v3/configs/config/secrets",
            action=f"write {name}",
            body={"project": self.project, "config": self.config, "secrets": {name: value}},
            secrets=[value],
        )

    def last_changed(self, names: Iterable[str]) -> dict[str, str]:
        document = self._request(
            "GET", "/v3/configs/config/logs", action="read the change log", params={"page": "1", "per_page": "20"}
        )
        return changes_from_logs(document.get("logs") if isinstance(document, dict) else None, names)


def _messages(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()
    messages = document.get("messages") if isinstance(document, dict) else None
    if isinstance(messages, list) and messages:
        return "; ".join(str(m) for m in messages)
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()
