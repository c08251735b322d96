"""Waiting for OpenCode's first authenticated answer without waiting on one request.

OpenCode 1.18 accepts connections a moment before it serves them: a request that reaches it in that moment (the first
0.3-0.5 s after it listens on an idle 2-core machine, longer under a CPU limit) is never answered, whatever its path,
while one sent a little later is answered at once. A poll that waits for its request's answer therefore waits out its
whole timeout once on almost every start. Here no request is waited on alone: while the newest one is unanswered, a
new one goes out on a new connection every HEDGE seconds (so the answer is seen within that of OpenCode's readiness),
up to MOST_IN_FLIGHT at once, and the first 200 wins. An unanswered request is left open rather than abandoned, since
a slow answer (the first request creates OpenCode's project instance) may still come. Raw sockets, not http.client:
a start reads one status line and nothing else.
"""

from __future__ import annotations

import base64
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

POLL = 0.02  # seconds between connection attempts while nothing listens yet
HEDGE = 0.05  # seconds an unanswered request waits before another one joins it
MOST_IN_FLIGHT = 16  # beyond this the oldest unanswered request is closed
STATUS_LINE_MOST = 1024  # bytes: an HTTP status line is far shorter


@dataclass
class _Request:
    sock: socket.socket
    sent_at: float
    received: bytes = b""
    sent: bool = False


@dataclass
class ReadinessProbe:
    """GET `path` on host:port with Basic credentials until one answer is 200. The password lives only in the request
    bytes, never in a repr."""

    host: str
    port: int
    username: str = field(repr=False)
    password: str = field(repr=False)
    path: str = "/session"
    _requests: list[_Request] = field(default_factory=list, init=False, repr=False)
    _selector: selectors.DefaultSelector = field(default_factory=selectors.DefaultSelector, init=False, repr=False)

    def _request_bytes(self) -> bytes:
        credentials = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Basic {credentials}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()

    def answered(self, wait: float) -> bool:
        """Whether a request got 200 within `wait` seconds; sends a new request first when the newest is older than
        HEDGE (or there is none)."""
        now = time.monotonic()
        if not self._requests or now - self._requests[-1].sent_at >= HEDGE:
            self._open(now)
        deadline = now + wait
        while True:
            remaining = deadline - time.monotonic()
            for key, events in self._selector.select(max(remaining, 0)):
                request: _Request = key.data
                if self._progress(request, events) == 200:
                    return True
            if not self._requests:  # refused: nothing listens yet, and nothing is under way
                time.sleep(max(remaining, 0))
                return False
            if remaining <= 0:
                return False

    def wait(self, timeout: float, running: Callable[[], bool]) -> float | None:
        """Seconds until a request got 200, or None once `running()` turned false (the server ended) or `timeout`
        seconds passed."""
        started = time.monotonic()
        while time.monotonic() - started < timeout and running():
            if self.answered(POLL):
                return time.monotonic() - started
        return None

    @property
    def in_flight(self) -> int:
        """Requests sent or under way and not yet answered."""
        return len(self._requests)

    def _open(self, now: float) -> None:
        if len(self._requests) >= MOST_IN_FLIGHT:
            self._drop(self._requests[0])
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex((self.host, self.port))  # in progress; its outcome shows when the socket turns writable
        request = _Request(sock, now)
        self._requests.append(request)
        self._selector.register(sock, selectors.EVENT_WRITE, request)

    def _progress(self, request: _Request, events: int) -> int | None:
        """One step of a request: send it once connected, read its status line once answered. Returns the status,
        or None while it is under way; a refused or failed request is closed."""
        try:
            if not request.sent and events & selectors.EVENT_WRITE:
                if request.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:  # refused: nothing listens yet
                    self._drop(request)
                    return None
                request.sock.sendall(self._request_bytes())
                request.sent = True
                self._selector.modify(request.sock, selectors.EVENT_READ, request)
                return None
            chunk = request.sock.recv(STATUS_LINE_MOST)
        except OSError:
            self._drop(request)
            return None
        request.received += chunk
        if b"\r\n" not in request.received and chunk and len(request.received) < STATUS_LINE_MOST:
            return None
        self._drop(request)
        parts = request.received.split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None

    def _drop(self, request: _Request) -> None:
        self._selector.unregister(request.sock)
        request.sock.close()
        self._requests.remove(request)

    def close(self) -> None:
        for request in list(self._requests):
            self._drop(request)
        self._selector.close()

    def __enter__(self) -> ReadinessProbe:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
