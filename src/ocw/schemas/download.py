"""Downloading JSON schemas from the public catalogs (or a mirror of their layout).

The datreeio CRDs catalog serves `<group>/<kind>_<version>.json`; the bjw-s common library serves `values.schema.json`,
whose relative `$ref`s name the other files (`schemas/*.json`) to fetch.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ocw.paths import replace_whole

if TYPE_CHECKING:
    import httpx

CRD_CATALOG_URL = "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/"
APP_TEMPLATE_COMMON_VERSION = "4.1.1"
APP_TEMPLATE_SCHEMA_URL = (
    "https://raw.githubusercontent.com/bjw-s-labs/helm-charts/"
    f"common-{APP_TEMPLATE_COMMON_VERSION}/charts/library/common/"
)
# Lets a mirror (or a test) stand in for the public catalogs.
CRD_CATALOG_ENV = "OCW_CRD_CATALOG_URL"
APP_TEMPLATE_SCHEMA_ENV = "OCW_APP_TEMPLATE_SCHEMA_URL"
FETCH_TIMEOUT_SECONDS = 10.0
_RELATIVE_REF = re.compile(r'"\$ref":\s*"((?:schemas/)?[A-Za-z0-9_.-]+\.json)#')


def crd_catalog_url(override: str | None = None) -> str:
    return _with_slash(override or os.environ.get(CRD_CATALOG_ENV) or CRD_CATALOG_URL)


def app_template_schema_url(override: str | None = None) -> str:
    return _with_slash(override or os.environ.get(APP_TEMPLATE_SCHEMA_ENV) or APP_TEMPLATE_SCHEMA_URL)


def crd_file(group: str, kind: str, version: str) -> str:
    """The catalog's file name for one CRD version, relative to the catalog root (and to `crds/` on disk)."""
    return f"{group}/{kind.lower()}_{version}.json"


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


class Offline(Exception):
    """The catalog's host could not be reached at all: nothing more will download in this run."""


class Downloader:
    """Fetches JSON files through one HTTP client (one TLS setup, its connections kept for the next file); after one
    failed connection it reports every later fetch as failed at once instead of waiting out a timeout per schema."""

    def __init__(self) -> None:
        self.offline_reason: str | None = None
        self._looked_up: set[str] = set()  # hosts whose name this run found
        self._client: httpx.Client | None = None

    def fetch(self, url: str, path: Path) -> str | None:
        """Write the JSON at url to path (atomically); None when done, else why not. Raises Offline."""
        if self.offline_reason is not None:
            raise Offline(self.offline_reason)
        self._look_up(url)
        import httpx  # noqa: PLC0415 - only when a schema must be fetched: a tenth of a second to import

        if self._client is None:
            self._client = httpx.Client(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)
        try:
            response = self._client.get(url)
        except httpx.HTTPError as exc:
            host = httpx.URL(url).host
            self.offline_reason = f"{host} could not be reached ({type(exc).__name__}: {exc})"
            raise Offline(self.offline_reason) from exc
        if response.status_code != 200:
            return f"{url} answered HTTP {response.status_code}"
        try:
            json.loads(response.text)
        except ValueError:
            return f"{url} did not return JSON"
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_whole(path, response.text)
        return None

    def _look_up(self, url: str) -> None:
        """Raise Offline when url's host has no address (a machine offline): told before the HTTP client and its TLS
        setup are loaded, which cost more than the lookup. Not where a proxy, which looks names up itself, is set."""
        host = urlsplit(url).hostname
        if host is None or host in self._looked_up or _proxied():
            return
        try:
            socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            self.offline_reason = f"{host} could not be reached (its name was not found: {exc.strerror or exc})"
            raise Offline(self.offline_reason) from exc
        except OSError:
            return  # the HTTP client tells what is wrong
        self._looked_up.add(host)

    def fetch_values_schema(self, base_url: str, target_dir: Path) -> str | None:
        """The app-template values schema and every file its relative `$ref`s name, into target_dir, whole or not at
        all: a half-downloaded set would fail later in confusing ways. None when done, else why not. Raises Offline."""
        staging = Path(
            tempfile.mkdtemp(prefix=target_dir.name + ".", suffix=".partial", dir=_ensure(target_dir.parent))
        )
        try:
            pending, done = ["values.schema.json"], set[str]()
            while pending:
                name = pending.pop()
                if name in done:
                    continue
                done.add(name)
                reason = self.fetch(base_url + name, staging / name)
                if reason is not None:
                    return reason
                folder = str(Path(name).parent)
                for ref in _RELATIVE_REF.findall((staging / name).read_text()):
                    pending.append(str(Path(folder) / ref) if folder != "." else ref)
            replace_dir(staging, target_dir)
            return None
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _proxied() -> bool:
    """A proxy the HTTP client would use (it reads these variables, in either case)."""
    return any(
        os.environ.get(name) or os.environ.get(name.upper()) for name in ("https_proxy", "http_proxy", "all_proxy")
    )


def replace_dir(new: Path, target: Path) -> None:
    """Put new in target's place; the old target is removed only once new is there."""
    if not target.exists():
        new.rename(target)
        return
    retired = target.with_name(f"{target.name}.old-{os.getpid()}")
    target.rename(retired)
    new.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def _ensure(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory
