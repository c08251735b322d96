"""`ocw schemas update`: refresh every schema ocw knows (the vendored set and whatever the cache already holds) from
the public catalogs into the user cache, which then takes precedence over the vendored copies.

Everything is downloaded into a staging directory first: when the catalog cannot be reached, the cache is left
exactly as it was. The package's own directory is never written (it may be a read-only site-packages).
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ocw.errors import OcwError
from ocw.schemas.catalog import VENDORED_SCHEMAS, cache_schemas_dir, values_schema_in
from ocw.schemas.download import APP_TEMPLATE_COMMON_VERSION, Downloader, Offline, replace_dir

APP_TEMPLATE_DIR = f"app-template-common-{APP_TEMPLATE_COMMON_VERSION}"


@dataclass(frozen=True)
class FileResult:
    path: str  # relative to the schemas directory
    status: str  # new | changed | unchanged | failed
    detail: str = ""


@dataclass
class UpdateResult:
    cache: Path
    crd_catalog: str
    app_template: str
    files: list[FileResult] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]


def known_crds(*roots: Path) -> list[str]:
    """Every `<group>/<kind>_<version>.json` under the roots' `crds/` directories."""
    names = {str(path.relative_to(root / "crds")) for root in roots for path in (root / "crds").glob("*/*.json")}
    return sorted(names)


def update_schemas(
    crd_catalog: str,
    app_template: str,
    *,
    vendored: Path = VENDORED_SCHEMAS,
    progress: Callable[[str], None] = lambda _: None,
) -> UpdateResult:
    cache = cache_schemas_dir()
    result = UpdateResult(cache, crd_catalog, app_template)
    downloader = Downloader()
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="schemas.", suffix=".partial", dir=cache.parent))
    try:
        names = known_crds(vendored, cache)
        fetched: list[str] = []
        for index, name in enumerate(names, 1):
            progress(f"[{index}/{len(names)}] {crd_catalog}{name}")
            reason = _fetch(downloader, crd_catalog + name, staging / "crds" / name)
            if reason is None:
                fetched.append(name)
            else:
                result.files.append(FileResult(f"crds/{name}", "failed", reason))
        progress(f"app-template common {APP_TEMPLATE_COMMON_VERSION}: {app_template}values.schema.json")
        values_reason = _fetch_values(downloader, app_template, staging / APP_TEMPLATE_DIR)
        # Reached this far: the catalogs answered, so commit what arrived.
        for name in fetched:
            result.files.append(_install(staging / "crds" / name, cache / "crds" / name, vendored / "crds" / name))
        if values_reason is None:
            result.files.append(_install_values(staging / APP_TEMPLATE_DIR, cache, vendored))
        else:
            result.files.append(FileResult(APP_TEMPLATE_DIR, "failed", values_reason))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _offline(exc: Offline) -> OcwError:
    return OcwError(
        f"the schema catalog could not be reached: {exc}; the cache is unchanged",
        hint="run `ocw schemas update` again while online, or point --crd-catalog-url/--app-template-url "
        "at a mirror; ocw check keeps using the vendored schemas meanwhile",
    )


def _fetch(downloader: Downloader, url: str, path: Path) -> str | None:
    try:
        return downloader.fetch(url, path)
    except Offline as exc:
        raise _offline(exc) from exc


def _fetch_values(downloader: Downloader, base_url: str, target: Path) -> str | None:
    try:
        return downloader.fetch_values_schema(base_url, target)
    except Offline as exc:
        raise _offline(exc) from exc


def _install(new: Path, cached: Path, vendored: Path) -> FileResult:
    previous = cached if cached.is_file() else vendored
    relative = f"crds/{cached.parent.name}/{cached.name}"
    status = (
        "new" if not previous.is_file() else "unchanged" if filecmp.cmp(new, previous, shallow=False) else "changed"
    )
    cached.parent.mkdir(parents=True, exist_ok=True)
    new.replace(cached)
    return FileResult(relative, status)


def _install_values(new: Path, cache: Path, vendored: Path) -> FileResult:
    previous_file = values_schema_in(cache) or values_schema_in(vendored)
    previous = previous_file.parent if previous_file is not None else None
    status = "new" if previous is None else "unchanged" if _same_tree(new, previous) else "changed"
    replace_dir(new, cache / APP_TEMPLATE_DIR)
    return FileResult(APP_TEMPLATE_DIR, status)


def _same_tree(new: Path, previous: Path) -> bool:
    """Every downloaded file is byte for byte the one already there (files beside them, such as the licence, do not
    count: the catalog does not serve them)."""
    return all(
        (previous / p.relative_to(new)).is_file() and filecmp.cmp(p, previous / p.relative_to(new), shallow=False)
        for p in new.rglob("*.json")
    )
