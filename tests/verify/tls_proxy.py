"""A TLS-terminating TCP relay in front of a local OpenCode, standing in for the cluster's gateway: it presents a
certificate for *.opencode.<domain> (made with the openssl CLI from a throwaway CA) and forwards bytes unchanged.

Like Envoy applying the workspace route's landing rule, it answers a request for exactly `/` itself with a 302 to the
rule's path, before any authentication. It looks at the first request of each connection only; ocw verify opens a
connection per request."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path


def make_pki(folder: Path, wildcard: str) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ocw test CA",
    )
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "site.key", "-out", "site.csr", "-subj", f"/CN={wildcard}"
    )
    (folder / "ext.cnf").write_text(f"subjectAltName=DNS:{wildcard}\nbasicConstraints=CA:FALSE\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "site.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "site.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    return Pki(folder / "ca.pem", folder / "site.pem", folder / "site.key")


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def _read_head(client: ssl.SSLSocket) -> bytes:
    """The bytes up to the end of the first request's header block (or all that came before the peer stopped)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _path(head: bytes) -> str:
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode(errors="replace").split("?", 1)[0] if len(parts) >= 2 else ""


def _host(head: bytes) -> str:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"host":
            return value.strip().decode(errors="replace")
    return ""


@contextmanager
def tls_relay(pki: Pki, backend_port: int, root_redirect: Callable[[], str | None] | None = None) -> Iterator[int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert, pki.key)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(raw,), daemon=True).start()

    def handle(raw: socket.socket) -> None:
        try:
            client = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        try:
            head = _read_head(client)
        except (ssl.SSLError, OSError):
            client.close()
            return
        target = root_redirect() if root_redirect is not None else None
        if target is not None and _path(head) == "/":
            with suppress(OSError):
                # Envoy answers a RequestRedirect with an absolute URL on the request's own scheme and authority.
                headers = f"location: https://{_host(head)}{target}\r\ncontent-length: 0\r\nconnection: close\r\n"
                client.sendall(f"HTTP/1.1 302 Found\r\n{headers}\r\n".encode())
            client.close()
            return
        try:
            backend = socket.create_connection(("127.0.0.1", backend_port))
            backend.sendall(head)
        except OSError:
            client.close()
            return
        back = threading.Thread(target=_pipe, args=(backend, client), daemon=True)
        back.start()
        _pipe(client, backend)
        back.join(timeout=30)
        client.close()
        backend.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
