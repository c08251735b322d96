"""A git smart-HTTP server on 127.0.0.1 that demands a token, for tests that run real git against it.

It serves every bare repository under `project_root` through git's own CGI program, `git http-backend`, over
HTTPS (a self-signed certificate made at runtime; point git at it with `GIT_SSL_CAINFO`). Every request needs HTTP
Basic credentials whose password is the server's token: without them, or with a wrong one, the answer is 401 with
a `WWW-Authenticate` challenge, as GitHub answers git. Each request is recorded, so a test can prove that git did
or did not reach the server, and fetches can be held open to interrupt a clone midway.
"""

from __future__ import annotations

import base64
import binascii
import http.server
import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from support.prerequisites import require_command

GIT_HTTP_BACKEND = Path("/usr/lib/git-core/git-http-backend")
# A held fetch gives up after this long so that a forgotten release never hangs a test run.
HOLD_LIMIT_SECONDS = 60.0


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1 and its key. The certificate is also the CA file for clients."""

    certificate: Path
    key: Path


def make_self_signed_certificate(directory: Path) -> TlsFiles:
    """Create a certificate for IP 127.0.0.1 (and localhost) with the openssl command, valid for two days."""
    openssl = require_command("openssl", package="openssl", purpose="it makes the test server's TLS certificate")
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(certificate=directory / "server.crt", key=directory / "server.key")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(files.key),
            "-out",
            str(files.certificate),
        ],
        check=True,
        capture_output=True,
    )
    files.certificate.chmod(0o644)
    return files


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    status: int
    username: str | None
    authorized: bool

    @property
    def is_fetch(self) -> bool:
        """The request that transfers objects to a cloning or fetching client."""
        return self.method == "POST" and self.path.endswith("/git-upload-pack")


class GitHttpServer:
    """Serve the bare repositories under `project_root` at https://127.0.0.1:<port>/<name>.git.

    Use as a context manager, or call `start()` and `stop()`.
    """

    def __init__(self, project_root: Path, *, token: str, tls: TlsFiles) -> None:
        if not GIT_HTTP_BACKEND.is_file():
            raise RuntimeError(f"{GIT_HTTP_BACKEND} is missing: the git package provides it")
        self.project_root = project_root
        self.token = token
        # Repositories the token may not read: GitHub answers such a fetch 403, credentials accepted or not.
        self.forbidden: set[str] = set()
        self._tls = tls
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._fetches_open = threading.Event()
        self._fetches_open.set()
        self._fetch_arrived = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> GitHttpServer:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._tls.certificate, self._tls.key)
        httpd = _Server(("127.0.0.1", 0), _Handler, owner=self, tls=context)
        self._httpd = httpd
        # A short poll keeps stop() quick: shutdown() waits for the serving loop to look up.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="git-http-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._fetches_open.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> GitHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def authority(self) -> str:
        """host:port, as git names it in a credential request's `host=` line."""
        return f"127.0.0.1:{self.port}"

    def url(self, repository: str) -> str:
        return f"https://{self.authority}/{repository}"

    # -- what happened

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    # -- holding fetches open

    @contextmanager
    def fetches_held(self) -> Iterator[threading.Event]:
        """While inside, object transfers wait before answering; yields an event set once one is waiting."""
        self._fetch_arrived.clear()
        self._fetches_open.clear()
        try:
            yield self._fetch_arrived
        finally:
            self._fetches_open.set()

    def _wait_if_held(self) -> None:
        if not self._fetches_open.is_set():
            self._fetch_arrived.set()
            self._fetches_open.wait(timeout=HOLD_LIMIT_SECONDS)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[http.server.BaseHTTPRequestHandler],
        *,
        owner: GitHttpServer,
        tls: ssl.SSLContext,
    ) -> None:
        self.owner = owner
        self.tls = tls
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, object]:
        raw, address = self.socket.accept()
        # The handshake runs in the request's own thread (on first read), never in the accepting one.
        return self.tls.wrap_socket(raw, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: object, client_address: object) -> None:
        # A client killed mid-request (the interrupted-clone scenario) is expected, not worth a traceback.
        return


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    _CGI_HEADERS: ClassVar[dict[str, str]] = {
        "Content-Type": "CONTENT_TYPE",
        "Content-Encoding": "HTTP_CONTENT_ENCODING",
        "Git-Protocol": "GIT_PROTOCOL",
    }

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        return

    def _credentials(self) -> tuple[str | None, bool]:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None, False
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, False
        return username, password == self.server.owner.token

    def _serve(self) -> None:
        owner = self.server.owner
        split = urlsplit(self.path)
        username, authorized = self._credentials()
        if not authorized:
            owner._record(RecordedRequest(self.command, split.path, split.query, 401, username, authorized=False))
            body = b"authentication required\n"
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return

        if split.path.removeprefix("/").split("/", 1)[0] in owner.forbidden:
            owner._record(RecordedRequest(self.command, split.path, split.query, 403, username, authorized=True))
            body = b"Permission denied\n"
            self.send_response(403)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return

        request_body = self._read_body()
        if self.command == "POST" and split.path.endswith("/git-upload-pack"):
            owner._wait_if_held()
        status, headers, response_body = self._run_backend(split.path, split.query, username or "", request_body)
        owner._record(RecordedRequest(self.command, split.path, split.query, status, username, authorized=True))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response_body)))
        self.end_headers()
        self.wfile.write(response_body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _run_backend(
        self, path: str, query: str, username: str, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.owner.project_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": username,
            "REMOTE_ADDR": self.client_address[0],
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        for header, variable in self._CGI_HEADERS.items():
            value = self.headers.get(header)
            if value is not None:
                env[variable] = value
        completed = subprocess.run([str(GIT_HTTP_BACKEND)], input=body, env=env, capture_output=True, check=False)
        head, separator, response_body = completed.stdout.partition(b"\r\n\r\n")
        if not separator:
            head, _, response_body = completed.stdout.partition(b"\n\n")
        status = 200
        headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name.strip(), value.strip()))
        if completed.returncode != 0 and not completed.stdout:
            return 500, [("Content-Type", "text/plain")], completed.stderr
        return status, headers, response_body
