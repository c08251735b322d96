"""An HTTPS proxy (HTTP CONNECT) on 127.0.0.1 that records where clients asked to go and tunnels only to 127.0.0.1.

Tests point HTTPS_PROXY at it to prove a client used the proxy; a request for any other host is refused (403), so
nothing leaves this machine, unless `routes` sends that `host:port` to a local stand-in's port."""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import threading
from collections.abc import Mapping
from types import TracebackType


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        request_line = self.rfile.readline(65536).decode("latin-1").strip()
        while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
            pass  # headers: not needed
        method, _, rest = request_line.partition(" ")
        target = rest.split(" ", 1)[0]
        self.server.owner.record(f"{method} {target}")
        host, _, port = target.rpartition(":")
        if target in self.server.owner.routes:
            host, port = "127.0.0.1", str(self.server.owner.routes[target])
        if method != "CONNECT" or host not in ("127.0.0.1", "localhost") or not port.isdigit():
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        except OSError:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        with upstream:
            self._tunnel(self.connection, upstream)

    @staticmethod
    def _tunnel(client: socket.socket, upstream: socket.socket) -> None:
        sockets = [client, upstream]
        while True:
            readable, _, _ = select.select(sockets, [], [], 30)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is client else client).sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: ConnectProxy) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)


class ConnectProxy:
    def __init__(self, routes: Mapping[str, int] | None = None) -> None:
        self.routes = dict(routes or {})  # "host:port" -> a port on 127.0.0.1
        self._lock = threading.Lock()
        self._requests: list[str] = []
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def record(self, line: str) -> None:
        with self._lock:
            self._requests.append(line)

    def requests(self) -> list[str]:
        with self._lock:
            return list(self._requests)

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown()
            self._server.server_close()
