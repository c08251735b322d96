"""A small client for the OpenCode server API: the calls that prove a workspace works.

Every call but the PWA manifest needs HTTP Basic credentials (user `opencode` unless OPENCODE_SERVER_USERNAME says
otherwise). The password is held in memory only and never appears in a repr, a log line or an exception.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx

from ocw.opencode import DEFAULT_USERNAME

UNAUTHENTICATED_PATH = "/site.webmanifest"


class OpenCodeError(Exception):
    pass


@cache
def _tls(verify: bool | str) -> ssl.SSLContext:
    """The TLS context of every client that verifies as `verify` says, made once: httpx reads the whole CA bundle for
    each new client (tens of milliseconds of CPU), and a client is made per request, e.g. for each poll while OpenCode
    starts."""
    return httpx.create_ssl_context(verify=verify)


@dataclass
class OpenCodeClient:
    base_url: str
    password: str = field(repr=False)
    username: str = DEFAULT_USERNAME
    timeout: float = 10.0
    verify: bool | str = True

    def _client(self, *, authenticated: bool = True) -> httpx.Client:
        auth = httpx.BasicAuth(self.username, self.password) if authenticated else None
        return httpx.Client(base_url=self.base_url, auth=auth, timeout=self.timeout, verify=_tls(self.verify))

    def request(self, method: str, path: str, *, authenticated: bool = True, **kwargs: Any) -> httpx.Response:
        try:
            with self._client(authenticated=authenticated) as client:
                return client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise OpenCodeError(f"{method} {self.base_url}{path} failed: {type(exc).__name__}: {exc}") from None

    def get_json(self, path: str) -> Any:
        response = self.request("GET", path)
        if response.status_code != 200:
            raise OpenCodeError(f"GET {path} answered {response.status_code}, expected 200")
        return response.json()

    def is_ready(self) -> bool:
        """Whether the server answers an authenticated request (the password is accepted)."""
        try:
            return self.request("GET", "/session").status_code == 200
        except OpenCodeError:
            return False

    def sessions(self) -> list[dict[str, Any]]:
        return list(self.get_json("/session"))

    def create_session(self, title: str) -> dict[str, Any]:
        response = self.request("POST", "/session", json={"title": title})
        if response.status_code != 200:
            raise OpenCodeError(f"POST /session answered {response.status_code}, expected 200")
        return dict(response.json())

    def paths(self) -> dict[str, Any]:
        return dict(self.get_json("/path"))

    def current_project(self) -> dict[str, Any]:
        return dict(self.get_json("/project/current"))

    def configured_providers(self) -> dict[str, Any]:
        """The providers this server can use, each with its models (`connected` of GET /provider, from the same
        provider state, without the whole models catalogue GET /provider adds: 37 KB instead of 6 MB, and a few
        milliseconds of the server's CPU instead of most of a second)."""
        return dict(self.get_json("/config/providers"))

    def openapi(self) -> dict[str, Any]:
        return dict(self.get_json("/doc"))
