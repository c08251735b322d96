"""Which chart renders a HelmRelease offline: the vendored app-template, the user cache, and the version policy
between them (docs/check-rules.md, Charts)."""

from __future__ import annotations

from pathlib import Path

from ocw.helm.charts import ChartStore, Resolution, Unavailable, source_key
from ocw.helm.release import ChartRequest, ChartSource

APP_TEMPLATE = "oci://ghcr.io/bjw-s-labs/helm/app-template"


def request(version: str, url: str = APP_TEMPLATE, chart: str = "app-template") -> ChartRequest:
    return ChartRequest(chart, version, ChartSource("OCIRepository", url))


def cache_with(tmp_path: Path, *versions: str, url: str = APP_TEMPLATE, chart: str = "app-template") -> Path:
    folder = tmp_path / "cache" / source_key(url)
    folder.mkdir(parents=True)
    for version in versions:
        (folder / f"{chart}-{version}.tgz").write_bytes(b"")
    return tmp_path / "cache"


def test_the_exact_vendored_version_renders_without_a_note(tmp_path: Path) -> None:
    resolved = ChartStore(cache_dir=tmp_path / "empty").resolve(request("4.1.1"))
    assert isinstance(resolved, Resolution)
    assert (resolved.chart.version, resolved.chart.origin, resolved.note) == ("4.1.1", "vendored", None)


def test_an_exact_version_from_the_cache_comes_before_a_vendored_stand_in(tmp_path: Path) -> None:
    resolved = ChartStore(cache_dir=cache_with(tmp_path, "4.4.0")).resolve(request("4.4.0"))
    assert isinstance(resolved, Resolution)
    assert (resolved.chart.version, resolved.chart.origin, resolved.note) == ("4.4.0", "cache", None)


def test_a_missing_version_is_stood_in_for_by_the_newest_vendored_one_of_its_major_with_a_note(tmp_path: Path) -> None:
    resolved = ChartStore(cache_dir=cache_with(tmp_path, "4.5.0")).resolve(request("4.4.0"))
    assert isinstance(resolved, Resolution)
    assert (resolved.chart.version, resolved.chart.origin) == ("4.1.1", "vendored")
    assert resolved.note == (
        "app-template 4.4.0 is neither vendored nor cached: rendered with the vendored 4.1.1 (same major version). "
        "`ocw charts pull` fetches 4.4.0"
    )


def test_another_major_version_is_never_stood_in_for(tmp_path: Path) -> None:
    resolved = ChartStore(cache_dir=tmp_path / "empty").resolve(request("5.0.1"))
    assert isinstance(resolved, Unavailable)
    assert "app-template 5.0.1" in resolved.reason and "versions here: 4.1.1" in resolved.reason
    assert "`ocw charts pull`" in resolved.reason
    other = ChartStore(cache_dir=tmp_path / "empty").resolve(
        request("0.4.3", "oci://ghcr.io/x/charts/konflate", "konflate")
    )
    assert isinstance(other, Unavailable)


def test_a_range_takes_the_newest_local_version_it_allows_and_says_so(tmp_path: Path) -> None:
    store = ChartStore(cache_dir=cache_with(tmp_path, "4.2.0", "5.0.1"))
    resolved = store.resolve(request("4.x"))
    assert isinstance(resolved, Resolution)
    assert (resolved.chart.version, resolved.chart.origin) == ("4.2.0", "cache")
    assert resolved.note is not None and "version range '4.x' resolved offline to 4.2.0" in resolved.note
