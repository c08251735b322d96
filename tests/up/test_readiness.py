"""How `ocw up` waits for OpenCode's first answer: a server that accepts connections before it serves them (OpenCode
leaves the requests of its first moment unanswered for good) is found ready as soon as it answers any request, a
port nothing listens on yet is simply "not yet", a wrong password is never "ready", and no more than a few requests
are ever open at once."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from ocw.up.readiness import MOST_IN_FLIGHT, ReadinessProbe
from support.ports import free_port

PASSWORD = "pw-" + "r" * 20
POLL = 0.02
DEADLINE = 20.0  # far beyond any wait the probe should need; a probe stuck on one request never gets there


@dataclass
class StartingServer:
    """Accepts every connection; leaves the first `unanswered` requests without an answer, as OpenCode does with
    those of its first moment, and answers later ones 200 (401 without the right password)."""

    unanswered: int
    listener: socket.socket = field(default_factory=socket.socket)
    accepted: int = 0
    open_now: int = 0
    requests: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, port: int) -> None:
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.open_now += 1
                answer = self.accepted > self.unanswered
            threading.Thread(target=self._handle, args=(connection, answer), daemon=True).start()

    def _handle(self, connection: socket.socket, answer: bool) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request and (chunk := connection.recv(4096)):
                request += chunk
            self.requests.append(request)
            if answer:
                expected = base64.b64encode(f"opencode:{PASSWORD}".encode())
                status = b"200 OK" if b"Authorization: Basic " + expected in request else b"401 Unauthorized"
                connection.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\n[]")
            while connection.recv(4096):  # held open until the client closes it
                pass
        with self.lock:
            self.open_now -= 1

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def servers() -> Iterator[list[StartingServer]]:
    started: list[StartingServer] = []
    yield started
    for server in started:
        server.close()


def wait_answered(probe: ReadinessProbe, deadline: float = DEADLINE) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if probe.answered(POLL):
            return True
    return False


def test_requests_of_the_first_moment_left_unanswered_do_not_hold_the_wait(
    port: int, servers: list[StartingServer]
) -> None:
    server = StartingServer(unanswered=3)
    servers.append(server)
    server.serve(port)
    with ReadinessProbe("127.0.0.1", port, "opencode", PASSWORD) as probe:
        assert wait_answered(probe)
    assert server.accepted >= 4  # past the three left unanswered
    wait_for(lambda: server.open_now == 0, "the probe to close every connection it opened")


def test_nothing_listening_is_not_yet_and_a_later_server_is_found(port: int, servers: list[StartingServer]) -> None:
    with ReadinessProbe("127.0.0.1", port, "opencode", PASSWORD) as probe:
        assert not any(probe.answered(POLL) for _ in range(5))
        server = StartingServer(unanswered=0)
        servers.append(server)
        server.serve(port)
        assert wait_answered(probe)


def test_a_wrong_password_is_never_ready_and_shows_nowhere(port: int, servers: list[StartingServer]) -> None:
    server = StartingServer(unanswered=0)
    servers.append(server)
    server.serve(port)
    with ReadinessProbe("127.0.0.1", port, "opencode", "wrong-password") as probe:
        assert not wait_answered(probe, deadline=1.0)
        assert "wrong-password" not in repr(probe) and "password=" not in repr(probe)
    assert server.requests  # it was asked, and refused each time
    assert all(b"Authorization: Basic " in request for request in server.requests)


def test_a_server_that_never_answers_has_a_bounded_number_of_requests_open(
    port: int, servers: list[StartingServer]
) -> None:
    server = StartingServer(unanswered=10**6)
    servers.append(server)
    server.serve(port)
    open_counts: list[int] = []
    with ReadinessProbe("127.0.0.1", port, "opencode", PASSWORD) as probe:
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            assert not probe.answered(POLL)
            open_counts.append(probe.in_flight)
    assert max(open_counts) == MOST_IN_FLIGHT  # it kept asking, and closed the oldest to ask again
    assert server.accepted > MOST_IN_FLIGHT
    wait_for(lambda: server.open_now == 0, "the probe to close every connection it opened")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + 10
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"waited 10 s for {what}")
        time.sleep(0.01)
