"""Where a chart comes from when `ocw` renders a HelmRelease, offline.

Sources, in order:
1. the charts vendored in the package (`ocw/data/charts/<chart>-<version>/`: app-template, licence kept);
2. the user cache (`$XDG_CACHE_HOME/ocw/charts`, `~/.cache/ocw/charts`), which `ocw charts pull` fills from the
   repository's OCIRepository and HelmRepository URLs.

The version policy, per HelmRelease:
- an exact version (`4.4.0`) is rendered with that version, vendored or cached;
- a range (`4.x`, `>= 6.0.0`) with the newest vendored or cached version it allows, and a warning: the cluster takes
  the newest its repository publishes;
- an exact version found nowhere, when a version of the same chart and major version is vendored, is rendered with
  the newest such version and a warning naming both versions (a major version keeps its values compatible);
- otherwise the chart is unavailable: one warning per chart, and `ocw charts pull` fetches it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from ocw.helm.release import ChartRequest
from ocw.helm.semver import Version, parse_version
from ocw.paths import DATA_DIR, user_cache_dir

VENDORED_CHARTS = DATA_DIR / "charts"
ChartOrigin = Literal["vendored", "cache", "repository"]
_VENDORED_DIR = re.compile(r"^(?P<chart>.+)-(?P<version>\d+\.\d+\.\d+)$")


def cache_charts_dir() -> Path:
    return user_cache_dir() / "charts"


def source_key(url: str) -> str:
    """A folder name for a chart source URL: readable, and distinct for distinct URLs."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", re.sub(r"^[a-z]+://", "", url.rstrip("/")))[-80:]
    return f"{readable}-{hashlib.sha256(url.rstrip('/').encode()).hexdigest()[:8]}"


def safe_reference(reference: str) -> str:
    """A tag, version or digest as part of a file name (`sha256:ab..` -> `sha256_ab..`)."""
    return reference.replace(":", "_").replace("/", "_")


@dataclass(frozen=True)
class Chart:
    """A chart ready for `helm template`: a directory or a .tgz, with the digest that keys its renders."""

    name: str
    version: str
    path: Path
    origin: ChartOrigin

    @property
    def digest(self) -> str:
        return chart_digest(self.path)

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.origin})"


@dataclass(frozen=True)
class Resolution:
    """The chart a request is rendered with, and why it is not exactly the one asked for (None when it is)."""

    chart: Chart
    note: str | None = None


@dataclass(frozen=True)
class Unavailable:
    reason: str


@cache
def chart_digest(path: Path) -> str:
    """SHA-256 of a chart archive, or of a chart directory's files (names and contents, in order)."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


class ChartStore:
    def __init__(self, *, vendored: Path = VENDORED_CHARTS, cache_dir: Path | None = None) -> None:
        self.vendored = vendored
        self.cache = cache_dir if cache_dir is not None else cache_charts_dir()

    def _vendored(self, chart: str) -> dict[Version, Path]:
        found: dict[Version, Path] = {}
        for path in self.vendored.glob(f"{chart}-*") if self.vendored.is_dir() else []:
            match = _VENDORED_DIR.match(path.name)
            version = parse_version(match.group("version")) if match else None
            if match and match.group("chart") == chart and version is not None and (path / "Chart.yaml").is_file():
                found[version] = path
        return found

    def _cached(self, request: ChartRequest) -> dict[str, Path]:
        folder = self.cache / source_key(request.oci_reference)
        prefix = f"{request.chart}-"
        return {
            path.name[len(prefix) : -len(".tgz")]: path
            for path in (folder.glob(f"{request.chart}-*.tgz") if folder.is_dir() else [])
            if path.name.startswith(prefix)
        }

    def resolve(self, request: ChartRequest) -> Resolution | Unavailable:
        vendored = self._vendored(request.chart)
        cached = self._cached(request)
        constraint = request.constraint
        exact = constraint.exact if constraint is not None else None
        if request.digest is not None and safe_reference(request.digest) in cached:
            return Resolution(self._cache_chart(request, safe_reference(request.digest), cached))
        if exact is not None or constraint is None:
            wanted = str(exact) if exact is not None else request.version
            version = exact or parse_version(wanted)
            if version is not None and version in vendored:
                return Resolution(Chart(request.chart, str(version), vendored[version], "vendored"))
            tag = next((t for t in cached if t in (wanted, request.version)), None)
            if tag is not None:
                return Resolution(self._cache_chart(request, tag, cached))
            same_major = [v for v in vendored if version is not None and v.major == version.major]
            if same_major:
                chosen = max(same_major)
                return Resolution(
                    Chart(request.chart, str(chosen), vendored[chosen], "vendored"),
                    f"{request.chart} {wanted} is neither vendored nor cached: rendered with the vendored {chosen} "
                    f"(same major version). `ocw charts pull` fetches {wanted}",
                )
            return Unavailable(self._unavailable(request, vendored))
        local = {v: ("vendored", p) for v, p in vendored.items()}
        local.update({v: ("cache", p) for t, p in cached.items() if (v := parse_version(t)) is not None})
        newest = constraint.newest(list(local))
        if newest is None:
            return Unavailable(self._unavailable(request, vendored))
        origin, path = local[newest]
        chart = Chart(request.chart, str(newest), path, "vendored" if origin == "vendored" else "cache")
        return Resolution(
            chart,
            f"{request.chart} version range {request.version!r} resolved offline to {newest} ({origin}); the cluster "
            f"takes the newest version its repository publishes. `ocw charts pull` fetches that one",
        )

    def _cache_chart(self, request: ChartRequest, tag: str, cached: dict[str, Path]) -> Chart:
        metadata = cached[tag].with_suffix(".json")
        version = tag
        if metadata.is_file():
            with contextlib.suppress(ValueError):
                version = str(json.loads(metadata.read_text()).get("version") or tag)
        return Chart(request.chart, version, cached[tag], "cache")

    def _unavailable(self, request: ChartRequest, vendored: dict[Version, Path]) -> str:
        offline = ", ".join(str(v) for v in sorted(vendored)) or "none"
        return (
            f"chart {request.describe()} is neither vendored (versions here: {offline}) nor in the cache "
            f"({self.cache}): run `ocw charts pull` while online to fetch it"
        )
