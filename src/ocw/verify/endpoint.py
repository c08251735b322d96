"""Where a workspace answers and how to reach it: the public HTTPS URL (cluster) or a loopback URL (`--local`).

`--connect-to HOST=ADDR:PORT` works like curl's `--connect-to`: the TCP connection goes to ADDR:PORT while the
hostname is kept for SNI, the certificate check and the Host header (for a laptop without the cluster's DNS, or
a test).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from ocw.errors import OcwError
from ocw.opencode import DEFAULT_USERNAME
from ocw.opencode.client import OpenCodeClient


def parse_connect_to(values: Iterable[str]) -> dict[str, tuple[str, int]]:
    routes: dict[str, tuple[str, int]] = {}
    for value in values:
        host, sep, target = value.partition("=")
        addr, colon, port = target.rpartition(":")
        if not sep or not host or not colon or not addr or not port.isdigit():
            raise OcwError(
                f"--connect-to {value!r}: expected HOST=ADDR:PORT",
                hint="e.g. --connect-to flux.opencode.example.com=192.168.1.10:443",
            )
        routes[host.lower()] = (addr.strip("[]"), int(port))
    return routes


class _ConnectTo(httpcore.SyncBackend):
    def __init__(self, routes: Mapping[str, tuple[str, int]]) -> None:
        self._routes = dict(routes)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addr, target_port = self._routes.get(host.lower(), (host, port))
        return super().connect_tcp(addr, target_port, timeout, local_address, socket_options)


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """The system trust store, or only `ca_file` when given (a private CA)."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise OcwError(f"--ca-file {ca_file}: not a readable PEM bundle ({exc})", hint="pass a CA bundle") from exc


@dataclass
class RoutedOpenCodeClient(OpenCodeClient):
    """The OpenCode client, connecting through `--connect-to` routes and a chosen trust store."""

    routes: dict[str, tuple[str, int]] = field(default_factory=dict)
    tls: ssl.SSLContext | None = field(default=None, repr=False)

    def _client(self, *, authenticated: bool = True) -> httpx.Client:
        auth = httpx.BasicAuth(self.username, self.password) if authenticated else None
        verify: ssl.SSLContext | bool = self.tls if self.tls is not None else True
        transport = httpx.HTTPTransport(verify=verify)
        if self.routes:
            # httpx has no resolver hook; its transport's pool is replaced by one with a routing network backend.
            context = verify if isinstance(verify, ssl.SSLContext) else ssl.create_default_context()
            transport._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=_ConnectTo(self.routes))
        return httpx.Client(base_url=self.base_url, auth=auth, timeout=self.timeout, transport=transport)


@dataclass
class Endpoint:
    """One workspace's server as `ocw verify` reaches it. The password is fetched lazily, held in memory only."""

    workspace: str
    url: str
    password_source: Callable[[], str] = field(repr=False)
    username: str = DEFAULT_USERNAME
    routes: dict[str, tuple[str, int]] = field(default_factory=dict)
    tls: ssl.SSLContext | None = field(default=None, repr=False)
    timeout: float = 10.0
    where: str = "the cluster"
    _password: str | None = field(default=None, repr=False)

    @property
    def hostname(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def is_https(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    def address(self) -> tuple[str, int]:
        return self.routes.get(self.hostname.lower(), (self.hostname, self.port))

    def password(self) -> str:
        if self._password is None:
            self._password = self.password_source()
        return self._password

    def client(self, *, password: str | None = None) -> RoutedOpenCodeClient:
        return RoutedOpenCodeClient(
            base_url=self.url,
            password=self.password() if password is None else password,
            username=self.username,
            timeout=self.timeout,
            routes=self.routes,
            tls=self.tls,
        )
