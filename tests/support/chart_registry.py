"""Stand-ins for the places charts are published, following their specifications (not ocw's code):

- an OCI registry (the OCI distribution spec's pull API: `GET /v2/<name>/manifests/<reference>`, `/blobs/<digest>`,
  `/tags/list`), which like ghcr.io answers an anonymous request with 401 and a `Bearer` challenge whose realm hands
  out a pull token;
- a Helm chart repository (Helm's chart repository guide: `index.yaml` with `entries.<chart>[].version/urls/digest`,
  the archives beside it).

Charts are real archives made by the pinned `helm package`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
CONFIG_MEDIA_TYPE = "application/vnd.cncf.helm.config.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
TOKEN = "pull-token-for-tests"


def package_chart(helm: Path, chart_dir: Path, version: str, destination: Path) -> Path:
    """`helm package` the chart source as the given version."""
    destination.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [helm, "package", chart_dir, "--version", version, "--destination", destination],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    [archive] = destination.glob(f"*-{version}.tgz")
    return archive


def _digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


@dataclass
class Registry:
    url: str  # http://127.0.0.1:PORT
    # repository name -> tag -> manifest JSON bytes; digest -> blob
    manifests: dict[str, dict[str, bytes]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def push(self, name: str, tag: str, archive: bytes, *, corrupt: bool = False) -> None:
        config = json.dumps({"name": name.rsplit("/", 1)[-1], "version": tag}).encode()
        self.blobs[_digest(config)] = config
        layer_digest = _digest(archive)
        self.blobs[layer_digest] = archive + (b"tampered" if corrupt else b"")
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": _digest(config), "size": len(config)},
            "layers": [{"mediaType": HELM_LAYER, "digest": layer_digest, "size": len(archive)}],
        }
        self.manifests.setdefault(name, {})[tag] = json.dumps(manifest).encode()


def _registry_handler(registry: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            registry.requests.append(url.path)
            if url.path == "/token":
                scope = parse_qs(url.query).get("scope", [""])[0]
                ok = scope.startswith("repository:") and scope.endswith(":pull")
                self._send(200 if ok else 400, json.dumps({"token": TOKEN}).encode(), "application/json")
                return
            if not url.path.startswith("/v2/"):
                self._send(404, b"{}", "application/json")
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                name = url.path.removeprefix("/v2/").rsplit("/", 2)[0]
                challenge = (
                    f'Bearer realm="{registry.url}/token",service="{registry.host}",scope="repository:{name}:pull"'
                )
                self._send(
                    401, b'{"errors": [{"code": "UNAUTHORIZED"}]}', "application/json", {"WWW-Authenticate": challenge}
                )
                return
            path = url.path.removeprefix("/v2/")
            if path.endswith("/tags/list"):
                name = path.removesuffix("/tags/list")
                tags = sorted(registry.manifests.get(name, {}))
                self._send(200, json.dumps({"name": name, "tags": tags}).encode(), "application/json")
                return
            name, kind, reference = path.rsplit("/", 2)
            if kind == "manifests":
                manifest = registry.manifests.get(name, {}).get(reference)
                if manifest is None:
                    by_digest = [m for m in registry.manifests.get(name, {}).values() if _digest(m) == reference]
                    manifest = by_digest[0] if by_digest else None
                if manifest is None:
                    self._send(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}', "application/json")
                else:
                    self._send(200, manifest, MANIFEST_MEDIA_TYPE, {"Docker-Content-Digest": _digest(manifest)})
                return
            blob = registry.blobs.get(reference) if kind == "blobs" else None
            if blob is None:
                self._send(404, b'{"errors": [{"code": "BLOB_UNKNOWN"}]}', "application/json")
            else:
                self._send(200, blob, "application/octet-stream")

    return Handler


@contextmanager
def oci_registry() -> Iterator[Registry]:
    registry = Registry(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _registry_handler(registry))
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()


def write_helm_repository(root: Path, base_url: str, charts: dict[str, list[Path]]) -> None:
    """index.yaml (apiVersion v1) listing each archive with its version, relative URL and digest."""
    entries = {}
    for chart, archives in charts.items():
        entries[chart] = [
            {
                "apiVersion": "v2",
                "name": chart,
                "version": archive.name.removeprefix(f"{chart}-").removesuffix(".tgz"),
                "urls": [archive.name],
                "digest": hashlib.sha256(archive.read_bytes()).hexdigest(),
            }
            for archive in archives
        ]
    (root / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": entries}))
