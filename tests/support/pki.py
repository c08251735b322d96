"""A throwaway PKI for the stand-in gateway: a CA and a certificate it signs for *.opencode.<domain> (and any other
names a test serves, such as an attacker's hosts), made with the openssl CLI."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path


def make_pki(folder: Path, wildcard: str, *other_names: str) -> Pki:
    """A throwaway CA and a certificate it signs for `wildcard` (its subject) and `other_names`."""
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
    names = ",".join(f"DNS:{name}" for name in (wildcard, *other_names))
    (folder / "ext.cnf").write_text(f"subjectAltName={names}\nbasicConstraints=CA:FALSE\n")
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


@contextmanager
def serve_https(handler: type[BaseHTTPRequestHandler], cert: Path, key: Path) -> Iterator[int]:
    """`handler` served over TLS with `cert` on a free loopback port, which is yielded; stopped on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
