"""`ocw charts pull`: fetch the charts the repository's HelmReleases ask for into the user cache, from the URLs its
OCIRepositories and HelmRepositories name.

- An OCI registry is read as the OCI distribution spec defines it: `GET /v2/<name>/manifests/<reference>` (a tag or
  digest; a semver range first lists `GET /v2/<name>/tags/list`), then the blob of the layer whose media type is
  Helm's chart layer, checked against its digest. A registry that answers 401 with a `Bearer` challenge gets the
  anonymous token its realm hands out (ghcr.io does this for public packages). `https` unless the OCIRepository
  says `insecure: true`.
- A Helm repository is read as Helm defines it: `<url>/index.yaml`, the chart's entry with the newest version the
  constraint allows, its first URL (relative ones against the repository URL), checked against its `digest`.

Every archive is written whole or not at all; a chart already in the cache is not fetched again.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin

import yaml

from ocw.helm.charts import cache_charts_dir, safe_reference, source_key
from ocw.helm.release import HELM_CHART_LAYER, ChartRequest
from ocw.helm.semver import parse_version

TIMEOUT_SECONDS = 30.0
_MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')

Status = Literal["pulled", "cached", "failed"]


class PullError(Exception):
    pass


@dataclass(frozen=True)
class PullResult:
    request: ChartRequest
    status: Status
    version: str | None
    path: Path | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "chart": self.request.chart,
            "asked": self.request.version,
            "source": self.request.source.url,
            "status": self.status,
            "version": self.version,
            "path": str(self.path) if self.path else None,
            "message": self.message,
        }


def _client() -> Any:
    import httpx  # noqa: PLC0415 - only when something is pulled: a tenth of a second to import

    return httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True)


class _Registry:
    """One OCI registry repository (`oci://host/name`), with the bearer token it asked for, if any."""

    def __init__(self, client: Any, reference: str, insecure: bool) -> None:
        host, _, name = reference.removeprefix("oci://").partition("/")
        self.client = client
        self.base = f"{'http' if insecure else 'https'}://{host}/v2/{name}"
        self.name = name
        self.token: str | None = None

    def get(self, path: str, accept: str | None = None) -> Any:
        headers = {"Accept": accept} if accept else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = self.client.get(self.base + path, headers=headers)
        if response.status_code == 401 and self.token is None:
            self.token = self._token(response.headers.get("www-authenticate", ""))
            return self.get(path, accept)
        if response.status_code != 200:
            raise PullError(f"{self.base}{path} answered HTTP {response.status_code}")
        return response

    def _token(self, challenge: str) -> str:
        scheme, _, rest = challenge.partition(" ")
        fields = dict(_CHALLENGE.findall(rest))
        if scheme.lower() != "bearer" or "realm" not in fields:
            raise PullError(f"the registry asks for credentials ({challenge or 'no challenge'}): only public charts")
        params = {k: v for k, v in fields.items() if k in ("service", "scope")}
        params.setdefault("scope", f"repository:{self.name}:pull")
        response = self.client.get(fields["realm"], params=params)
        if response.status_code != 200:
            raise PullError(f"the registry's token service {fields['realm']} answered HTTP {response.status_code}")
        document = response.json()
        token = document.get("token") or document.get("access_token")
        if not token:
            raise PullError(f"the registry's token service {fields['realm']} gave no token")
        return str(token)


def _tag(registry: _Registry, request: ChartRequest) -> str:
    if request.digest:
        return request.digest
    constraint = request.constraint
    if constraint is None or constraint.exact is not None:
        return request.version
    tags = [str(t) for t in registry.get("/tags/list").json().get("tags") or []]
    versions = {v: tag for tag in tags if (v := parse_version(tag)) is not None}
    newest = constraint.newest(list(versions))
    if newest is None:
        raise PullError(f"no tag of {request.oci_reference} satisfies {request.version!r} (tags: {', '.join(tags)})")
    return versions[newest]


def _pull_oci(client: Any, request: ChartRequest) -> tuple[bytes, str, str]:
    """(archive, its sha256 digest, the tag or digest pulled)."""
    registry = _Registry(client, request.oci_reference, request.source.insecure)
    reference = _tag(registry, request)
    manifest = registry.get(f"/manifests/{reference}", _MANIFEST_TYPES).json()
    layers = [layer for layer in manifest.get("layers") or [] if layer.get("mediaType") == HELM_CHART_LAYER]
    if not layers:
        raise PullError(f"{request.oci_reference}:{reference} has no layer of type {HELM_CHART_LAYER}: not a chart")
    digest = str(layers[0].get("digest", ""))
    blob = registry.get(f"/blobs/{digest}").content
    _verify(blob, digest, f"{request.oci_reference}:{reference}")
    return blob, digest, reference


def _pull_repository(client: Any, request: ChartRequest) -> tuple[bytes, str, str]:
    base = request.source.url.rstrip("/") + "/"
    response = client.get(urljoin(base, "index.yaml"))
    if response.status_code != 200:
        raise PullError(f"{base}index.yaml answered HTTP {response.status_code}")
    try:
        index = yaml.safe_load(response.text) or {}
    except yaml.YAMLError as exc:
        raise PullError(f"{base}index.yaml is not YAML: {exc}") from exc
    entries = [e for e in (index.get("entries") or {}).get(request.chart) or [] if isinstance(e, dict)]
    if not entries:
        raise PullError(f"the repository {base} has no chart {request.chart}")
    by_version = {v: e for e in entries if (v := parse_version(str(e.get("version", "")))) is not None}
    constraint = request.constraint
    chosen = constraint.newest(list(by_version)) if constraint is not None else None
    if chosen is None:
        raise PullError(f"no version of {request.chart} in {base} satisfies {request.version!r}")
    entry = by_version[chosen]
    urls = [str(u) for u in entry.get("urls") or []]
    if not urls:
        raise PullError(f"{request.chart} {chosen} in {base}index.yaml lists no URL")
    archive = client.get(urljoin(base, urls[0]))
    if archive.status_code != 200:
        raise PullError(f"{urljoin(base, urls[0])} answered HTTP {archive.status_code}")
    digest = f"sha256:{entry['digest']}" if entry.get("digest") else ""
    if digest:
        _verify(archive.content, digest, f"{request.chart} {chosen}")
    return archive.content, digest or "sha256:" + hashlib.sha256(archive.content).hexdigest(), str(chosen)


def _verify(content: bytes, digest: str, what: str) -> None:
    algorithm, _, expected = digest.partition(":")
    if algorithm != "sha256" or hashlib.sha256(content).hexdigest() != expected:
        raise PullError(f"{what}: the download does not match its digest {digest}")


def _http_error() -> type[Exception]:
    import httpx  # noqa: PLC0415

    return httpx.HTTPError


def _chart_version(archive: bytes) -> str | None:
    """The version in the archive's Chart.yaml."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.name.count("/") == 1 and member.name.endswith("/Chart.yaml"):
                handle = tar.extractfile(member)
                document = yaml.safe_load(handle.read()) if handle else None
                return str(document.get("version")) if isinstance(document, dict) else None
    return None


def pull(request: ChartRequest, *, cache: Path | None = None, client: Any = None) -> PullResult:
    """Fetch one chart into the cache; never raises for a failed download (the result says why)."""
    folder = (cache or cache_charts_dir()) / source_key(request.oci_reference)
    wanted = request.digest or request.version
    constraint = request.constraint
    exact = wanted if request.digest or constraint is None or constraint.exact is not None else None
    if exact is not None and (folder / f"{request.chart}-{safe_reference(exact)}.tgz").is_file():
        path = folder / f"{request.chart}-{safe_reference(exact)}.tgz"
        return PullResult(request, "cached", exact, path, "already in the cache")
    own = client is None
    client = client or _client()
    try:
        puller: Callable[[Any, ChartRequest], tuple[bytes, str, str]]
        puller = _pull_repository if request.source.kind == "HelmRepository" and not _is_oci(request) else _pull_oci
        archive, digest, reference = puller(client, request)
        version = _chart_version(archive)
        if version is None:
            raise PullError(f"{request.describe()}: the archive holds no Chart.yaml")
    except PullError as exc:
        return PullResult(request, "failed", None, None, str(exc))
    except (OSError, ValueError, tarfile.TarError, _http_error()) as exc:
        # A refused connection, a corrupt archive or an answer that is not JSON: reported, not raised.
        return PullResult(request, "failed", None, None, f"{type(exc).__name__}: {exc}")
    finally:
        if own:
            client.close()
    name = f"{request.chart}-{safe_reference(exact or version)}"
    path = folder / f"{name}.tgz"
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, content in (
        (
            ".json",
            json.dumps(
                {"version": version, "digest": digest, "source": request.oci_reference, "reference": reference}
            ).encode(),
        ),
        (".tgz", archive),
    ):
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".partial") as handle:
            handle.write(content)
        Path(handle.name).replace(folder / f"{name}{suffix}")
    return PullResult(request, "pulled", version, path, f"{digest} from {request.source.url}")


def _is_oci(request: ChartRequest) -> bool:
    return request.source.url.startswith("oci://")
