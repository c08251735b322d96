"""OpenCode as `ocw up` reaches it on this machine: plain HTTP with Basic credentials on the address it listens on,
through the standard library. Once it answers (readiness.py waits for that), a start asks it only for its config,
and httpx (ocw.opencode.client) would cost more CPU to import than every request of a start together. The password
is held in the Authorization header only, never in a repr, a log line or an exception."""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any


class LocalServerError(Exception):
    pass


class LocalServer:
    """One kept-alive connection to OpenCode on host:port; a failed request closes it, the next one reconnects."""

    def __init__(self, host: str, port: int, username: str, password: str, timeout: float = 5.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {credentials}"}
        self._connection: http.client.HTTPConnection | None = None

    def __repr__(self) -> str:
        return f"LocalServer({self.host!r}, {self.port})"

    def get(self, path: str) -> tuple[int, bytes]:
        """The status and body of an authenticated GET. Raises LocalServerError when no answer came."""
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self._connection.request("GET", path, headers=self._headers)
            response = self._connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            failure = f"{type(exc).__name__}: {exc}"
            raise LocalServerError(f"GET {path} on {self.host}:{self.port} failed: {failure}") from None

    def get_json(self, path: str) -> Any:
        status, body = self.get(path)
        if status != 200:
            raise LocalServerError(f"GET {path} answered {status}, expected 200")
        try:
            return json.loads(body)
        except ValueError as exc:
            raise LocalServerError(f"GET {path} answered no JSON: {exc}") from None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
