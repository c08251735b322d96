"""Where JSON schemas for custom resources and app-template values come from.

Three layers, the first that holds a file wins (all share the kubeconform layout `crds/<group>/<kind>_<version>.json`
plus `app-template-common-<version>/values.schema.json` with its `schemas/*.json`):

1. `--schemas DIR`, when given: the user's own schemas override and extend the others;
2. the user cache (`$XDG_CACHE_HOME/ocw/schemas`), filled by `ocw schemas update`;
3. the schemas vendored in the package (`ocw/data/schemas`), so that `ocw check` works offline out of the box.

A CRD in none of them is fetched from the public catalog into the cache, unless `--schemas` was given (then the run
stays offline and names the file to add).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ocw.paths import DATA_DIR, user_cache_dir
from ocw.schemas.download import (
    APP_TEMPLATE_COMMON_VERSION,
    Downloader,
    Offline,
    app_template_schema_url,
    crd_catalog_url,
    crd_file,
)

VENDORED_SCHEMAS = DATA_DIR / "schemas"
_VALUES_DIR = re.compile(r"^app-template-common-(\d+)\.(\d+)\.(\d+)$")
_CRD_FILE = re.compile(r"^(?P<kind>[a-z0-9]+)_(?P<version>v[0-9a-z]+)\.json$")
_FIRST_DESCRIPTION = re.compile(r'"description":\s*"((?:[^"\\]|\\.){0,400})')


def cache_schemas_dir() -> Path:
    return user_cache_dir() / "schemas"


@dataclass(frozen=True)
class Layer:
    name: str
    root: Path


@dataclass(frozen=True)
class Missing:
    """A schema that could not be found: what was looked for and how to provide it."""

    what: str
    expected: Path
    reason: str
    hint: str

    def message(self) -> str:
        return f"no schema for {self.what}: expected {self.expected} ({self.reason}). {self.hint}"


def values_schema_in(root: Path) -> Path | None:
    """The newest `app-template-common-<version>/values.schema.json` under root, by version, not by name."""
    found = [
        (tuple(int(x) for x in match.groups()), path)
        for path in root.glob("app-template-common-*/values.schema.json")
        if (match := _VALUES_DIR.match(path.parent.name))
    ]
    return max(found)[1] if found else None


@cache
def _kind_in(path: Path, lower: str) -> str:
    """A kind's own spelling (`HTTPRoute`) from its schema file, whose name only has it in lower case: the schema's
    description names the kind ("HTTPRoute provides a way to route HTTP requests"). '' when it does not."""
    try:
        match = _FIRST_DESCRIPTION.search(path.read_text())
    except OSError:
        return ""
    words = re.findall(r"[A-Za-z0-9]+", match.group(1)) if match else []
    return next((word for word in words if word.lower() == lower), "")


class SchemaCatalog:
    def __init__(self, schemas_dir: Path | None, *, vendored: Path = VENDORED_SCHEMAS) -> None:
        self.explicit = schemas_dir is not None
        self.cache = cache_schemas_dir()
        self.layers = [
            *([Layer("--schemas", schemas_dir)] if schemas_dir is not None else []),
            Layer("cache", self.cache),
            Layer("vendored", vendored),
        ]
        self._downloader = Downloader()

    def describe(self) -> str:
        return ", then ".join(f"{layer.root} ({layer.name})" for layer in self.layers)

    def served_kinds(self) -> set[tuple[str, str]]:
        """(apiVersion, kind) of every CRD version the layers hold a schema for: what the project knows the cluster
        may serve. The kind is '' where its spelling cannot be told from the file."""
        found: set[tuple[str, str]] = set()
        for layer in self.layers:
            for path in (layer.root / "crds").glob("*/*.json"):
                match = _CRD_FILE.match(path.name)
                if match:
                    found.add((f"{path.parent.name}/{match['version']}", _kind_in(path, match["kind"])))
        return found

    def crd(self, group: str, kind: str, version: str) -> Path | Missing:
        relative = Path("crds") / crd_file(group, kind, version)
        for layer in self.layers:
            if (layer.root / relative).is_file():
                return layer.root / relative
        what = f"{kind} ({group}/{version})"
        searched = ", ".join(layer.name for layer in self.layers)
        if self.explicit:
            first = self.layers[0].root
            return Missing(
                what,
                first / relative,
                f"not in the --schemas directory, the cache or the vendored schemas ({searched})",
                f"Add {relative} to {first} (the datreeio CRDs-catalog file {crd_file(group, kind, version)}),"
                " or run ocw check without --schemas while online to fetch it from the public catalog",
            )
        target = self.cache / relative
        try:
            reason = self._downloader.fetch(crd_catalog_url() + crd_file(group, kind, version), target)
        except Offline as exc:
            reason = str(exc)
        if reason is None:
            return target
        return Missing(
            what,
            target,
            f"not vendored or cached, and the download failed: {reason}",
            f"Run once while online, or pass --schemas DIR holding {relative}",
        )

    def app_template_values(self) -> Path | Missing:
        for layer in self.layers:
            found = values_schema_in(layer.root)
            if found is not None:
                return found
        # Only a damaged installation gets here: the vendored layer ships one.
        target = self.cache / f"app-template-common-{APP_TEMPLATE_COMMON_VERSION}" / "values.schema.json"
        try:
            reason = self._downloader.fetch_values_schema(app_template_schema_url(), target.parent)
        except Offline as exc:
            reason = str(exc)
        if reason is None:
            return target
        return Missing(
            "app-template values",
            target,
            f"not vendored or cached, and the download failed: {reason}",
            "Reinstall ocw, run `ocw schemas update` while online, or pass --schemas DIR holding "
            "app-template-common-<version>/values.schema.json",
        )
