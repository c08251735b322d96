"""How `ocw up` asks its answering OpenCode for its config: an authenticated GET over one kept connection, which a
server that closes it turns into a new connection, and whose password shows nowhere."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from ocw.up.local_server import LocalServer, LocalServerError

PASSWORD = "pw-" + "s" * 20


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as OpenCode answers
    connections: ClassVar[set[int]] = set()

    def do_GET(self) -> None:
        _Handler.connections.add(self.client_address[1])
        expected = "Basic " + base64.b64encode(f"opencode:{PASSWORD}".encode()).decode()
        ok = self.headers.get("Authorization") == expected
        body = json.dumps({"share": "disabled"}).encode() if ok else b"unauthorized"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    _Handler.connections = set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_polls_share_one_connection_and_survive_a_closed_one(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    with LocalServer("127.0.0.1", port, "opencode", PASSWORD) as local:
        assert all(local.get("/session")[0] == 200 for _ in range(5))
        assert len(_Handler.connections) == 1
        assert local.get("/close")[0] == 200
        assert local.get_json("/config") == {"share": "disabled"}  # on a new connection
        assert len(_Handler.connections) == 2
    with LocalServer("127.0.0.1", port, "opencode", "wrong") as local:
        assert local.get("/session")[0] == 401
        with pytest.raises(LocalServerError, match="answered 401"):
            local.get_json("/config")


def test_no_server_is_an_error_whose_text_holds_no_password(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    local = LocalServer("127.0.0.1", port, "opencode", PASSWORD)
    with pytest.raises(LocalServerError) as failure:
        local.get_json("/config")
    encoded = base64.b64encode(f"opencode:{PASSWORD}".encode()).decode()
    for text in (str(failure.value), repr(local)):
        assert PASSWORD not in text and encoded not in text, text
