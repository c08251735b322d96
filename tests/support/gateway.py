"""A stand-in for the cluster's gateway, which cannot run here (Envoy): TLS with a throwaway certificate, and every
request routed by the workspace's route as the tree builds it, deciding which rule answers with the Gateway API's
own precedence (ocw.gatewayapi, tested against the specification's conformance examples).

Per request, as Envoy Gateway does: a RequestRedirect rule answers with an absolute redirect on the request's scheme
and authority; an ExtensionRef to an HTTPRouteFilter with a directResponse answers with that response; a rule with
backendRefs forwards the request (Host kept, X-Forwarded-For/-Proto added) to the workspace's OpenCode, and a
WebSocket upgrade becomes a tunnel; no matching rule answers 404. Each connection carries one request (the answers
say `connection: close`), so every request a browser sends meets the route.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Any

from ocw.check.workspace_view import rendered
from ocw.gatewayapi.httproute import Answer, Request, Route, answer
from ocw.workspace import Workspace
from support.pki import Pki

REASONS = {200: "OK", 302: "Found", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}
MAX_HEAD = 64 * 1024


@dataclass
class Deployed:
    """What the gateway serves for one workspace: its route as the cluster holds it, the objects an ExtensionRef may
    name, and the port of the workspace's OpenCode. Tests may swap `routes` to serve another version of the route."""

    routes: list[Route]
    objects: dict[tuple[str, str, str], dict[str, Any]]
    backend_port: int
    log: list[tuple[Request, Answer]] = field(default_factory=list)

    def lookup(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, namespace, name))


def deployed(ws: Workspace, backend_port: int) -> Deployed:
    view = rendered(ws)
    routes = [r.route for r in view.routes if ws.hostname in r.route.hostnames]
    assert routes, f"{ws.name} has no route with its hostname"
    objects = {(m.kind, m.namespace or ws.namespace, m.name): m.obj for m in view.manifests}
    return Deployed(routes, objects, backend_port)


def without_rules(route: Route, drop: Callable[[dict[str, Any]], bool]) -> Route:
    """The route with the rules `drop` picks removed (to serve an older or broken version of it)."""
    return replace(route, rules=tuple(rule for rule in route.rules if not drop(dict(rule))))


def has_filter(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda rule: any(item.get("type") == kind for item in rule.get("filters") or [])


@dataclass(frozen=True)
class Head:
    method: str
    target: str
    headers: list[tuple[str, str]]
    raw: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


def _read_head(conn: socket.socket, buffered: bytes = b"") -> tuple[Head | None, bytes]:
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk or len(data) > MAX_HEAD:
            return None, b""
        data += chunk
    raw, rest = data.split(b"\r\n\r\n", 1)
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 3:
        return None, b""
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:]) if k]
    return Head(parts[0], parts[1], headers, raw), rest


def _read_exactly(conn: socket.socket, rest: bytes, length: int) -> tuple[bytes, bytes]:
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return rest[:length], rest[length:]


def _read_chunked(conn: socket.socket, rest: bytes) -> bytes:
    """A chunked body as sent (chunk sizes, data, trailers), up to and with its last chunk."""
    body = b""
    while True:
        while b"\r\n" not in rest:
            chunk = conn.recv(65536)
            if not chunk:
                return body + rest
            rest += chunk
        line, rest = rest.split(b"\r\n", 1)
        size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        body += line + b"\r\n"
        if size == 0:
            while not (rest.startswith(b"\r\n") or b"\r\n\r\n" in rest):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                rest += chunk
            end = 2 if rest.startswith(b"\r\n") else rest.index(b"\r\n\r\n") + 4
            return body + rest[:end]
        data, rest = _read_exactly(conn, rest, size + 2)
        body += data


def _body(conn: socket.socket, head: Head, rest: bytes) -> bytes:
    if (head.header("transfer-encoding") or "").lower() == "chunked":
        return _read_chunked(conn, rest)
    data, _ = _read_exactly(conn, rest, int(head.header("content-length") or 0))
    return data


def _respond(conn: socket.socket, result: Answer) -> None:
    body = result.body.encode()
    lines = [f"HTTP/1.1 {result.status} {REASONS.get(result.status or 0, 'Answer')}"]
    if result.location:
        lines.append(f"location: {result.location}")
    if result.content_type:
        lines.append(f"content-type: {result.content_type}")
    lines += [f"content-length: {len(body)}", "connection: close", "server: envoy"]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def _forward(client: socket.socket, head: Head, body: bytes, port: int, peer: str) -> None:
    upgrade = (head.header("upgrade") or "").lower() == "websocket"
    hop = {"connection", "keep-alive", "proxy-connection", "x-forwarded-for", "x-forwarded-proto"}
    headers = [(k, v) for k, v in head.headers if k.lower() not in hop]
    headers += [("X-Forwarded-For", peer), ("X-Forwarded-Proto", "https")]
    headers.append(("Connection", "Upgrade" if upgrade else "close"))
    request = f"{head.method} {head.target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    with socket.create_connection(("127.0.0.1", port)) as backend:
        backend.sendall(request.encode("latin-1") + body)
        answer_head, rest = _read_head(backend)
        if answer_head is None:
            return
        # A status line parses as a head whose "method" is the protocol and whose "target" is the status.
        status = int(answer_head.target) if answer_head.target.isdigit() else 502
        kept = [(k, v) for k, v in answer_head.headers if k.lower() not in ("connection", "keep-alive")]
        kept.append(("connection", "Upgrade" if status == 101 else "close"))
        status_line = answer_head.raw.split(b"\r\n", 1)[0]
        client.sendall(status_line + b"\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept).encode("latin-1") + b"\r\n")
        client.sendall(rest)
        if status == 101:
            upstream = threading.Thread(target=_pipe, args=(client, backend), daemon=True)
            upstream.start()
            _pipe(backend, client)
            upstream.join(timeout=5)
        else:
            _pipe(backend, client)


@dataclass
class Gateway:
    port: int
    workspaces: list[Deployed]

    def answers(self) -> list[tuple[Request, Answer]]:
        return [entry for deployed in self.workspaces for entry in deployed.log]


@contextmanager
def serve_gateway(pki: Pki, *workspaces: Deployed) -> Iterator[Gateway]:
    """The gateway on a loopback port, presenting `pki`'s certificate, serving the workspaces' routes."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert, pki.key)
    context.set_alpn_protocols(["http/1.1"])
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, address = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(raw, address[0]), daemon=True).start()

    def handle(raw: socket.socket, peer: str) -> None:
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        with conn, suppress(OSError, ssl.SSLError, ValueError):
            head, rest = _read_head(conn)
            if head is None:
                return
            request = Request.of(head.method, head.target, head.headers)
            target = next((w for w in workspaces if any(_serves(r, request) for r in w.routes)), None)
            if target is None:
                _respond(conn, Answer(status=404, body="no route for this host\n"))
                return
            result = answer(target.routes, request, target.lookup)
            target.log.append((request, result))
            body = _body(conn, head, rest)
            if result.forwarded:
                _forward(conn, head, body, target.backend_port, peer)
            else:
                _respond(conn, result)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield Gateway(int(listener.getsockname()[1]), list(workspaces))
    finally:
        stop.set()
        listener.close()


def _serves(route: Route, request: Request) -> bool:
    return any(
        h == request.host_name or (h.startswith("*.") and request.host_name.endswith(h[1:])) for h in route.hostnames
    )
