"""Where JSON schemas for custom resources and app-template values come from.

With `--schemas DIR`: only that directory (kubeconform layout `crds/<group>/<kind>_<version>.json`, plus
`app-template-common-<version>/values.schema.json` with its `schemas/*.json`), never the network. Without it: the user
cache, filled on demand from the public datreeio CRDs catalog and the bjw-s helm-charts repository while online.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ocw.paths import user_cache_dir

CRD_CATALOG_URL = "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/"
APP_TEMPLATE_COMMON_VERSION = "4.1.1"
APP_TEMPLATE_SCHEMA_URL = f"https://raw.githubusercontent.com/bjw-s-labs/helm-charts/common-{APP_TEMPLATE_COMMON_VERSION}/charts/library/common/"
# Lets a mirror (or a test) stand in for the public catalogs.
CRD_CATALOG_ENV = "OCW_CRD_CATALOG_URL"
APP_TEMPLATE_SCHEMA_ENV = "OCW_APP_TEMPLATE_SCHEMA_URL"
FETCH_TIMEOUT_SECONDS = 10.0
_RELATIVE_REF = re.compile(r'"\$ref":\s*"((?:schemas/)?[A-Za-z0-9_.-]+\.json)#')


@dataclass(frozen=True)
class Missing:
    """A schema that could not be found: what was looked for and how to provide it."""

    what: str
    expected: Path
    reason: str
    hint: str

    def message(self) -> str:
        return f"no schema for {self.what}: expected {self.expected} ({self.reason}). {self.hint}"


class SchemaCatalog:
    def __init__(self, schemas_dir: Path | None) -> None:
        self.explicit = schemas_dir is not None
        self.root = schemas_dir if schemas_dir is not None else user_cache_dir() / "schemas"
        self._offline_reason: str | None = None

    def describe(self) -> str:
        return str(self.root) if self.explicit else f"{self.root} (cache, filled from the public catalogs)"

    def crd(self, group: str, kind: str, version: str) -> Path | Missing:
        relative = Path("crds") / group / f"{kind.lower()}_{version}.json"
        path = self.root / relative
        if path.is_file():
            return path
        what = f"{kind} ({group}/{version})"
        if self.explicit:
            return Missing(
                what,
                path,
                "not in the --schemas directory",
                f"Add {relative} to {self.root} (the datreeio CRDs-catalog file {group}/{kind.lower()}_{version}.json),"
                " or run ocw check without --schemas while online to use the public catalog",
            )
        base = os.environ.get(CRD_CATALOG_ENV, CRD_CATALOG_URL)
        reason = self._fetch(f"{base}{group}/{kind.lower()}_{version}.json", path)
        if reason is None:
            return path
        return Missing(
            what,
            path,
            f"not cached, and the download failed: {reason}",
            f"Run once while online, or pass --schemas DIR holding {relative}",
        )

    def app_template_values(self) -> Path | Missing:
        found = sorted(self.root.glob("app-template-common-*/values.schema.json"))
        if found:
            return found[-1]
        target = self.root / f"app-template-common-{APP_TEMPLATE_COMMON_VERSION}" / "values.schema.json"
        if self.explicit:
            return Missing(
                "app-template values",
                target,
                "not in the --schemas directory",
                "Add the bjw-s common library values.schema.json and its schemas/*.json under "
                f"{self.root}/app-template-common-<version>/",
            )
        reason = self._fetch_values_schema(target)
        if reason is None:
            return target
        return Missing(
            "app-template values",
            target,
            f"not cached, and the download failed: {reason}",
            "Run once while online, or pass --schemas DIR holding app-template-common-<version>/values.schema.json",
        )

    def _fetch_values_schema(self, target: Path) -> str | None:
        base = os.environ.get(APP_TEMPLATE_SCHEMA_ENV, APP_TEMPLATE_SCHEMA_URL)
        staging = target.parent.with_name(target.parent.name + ".partial")
        pending, done = ["values.schema.json"], set[str]()
        while pending:
            name = pending.pop()
            if name in done:
                continue
            done.add(name)
            reason = self._fetch(base + name, staging / name)
            if reason is not None:
                return reason
            folder = str(Path(name).parent)
            for ref in _RELATIVE_REF.findall((staging / name).read_text()):
                pending.append(str(Path(folder) / ref) if folder != "." else ref)
        # Whole or nothing: a half-downloaded schema set would fail later in confusing ways.
        staging.rename(target.parent)
        return None

    def _fetch(self, url: str, path: Path) -> str | None:
        if self._offline_reason is not None:
            return self._offline_reason
        import httpx  # noqa: PLC0415 - only when a schema must be fetched: a tenth of a second to import

        try:
            response = httpx.get(url, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=True)
        except httpx.HTTPError as exc:
            # One failed connection means offline: do not wait out a timeout for every schema.
            host = httpx.URL(url).host
            self._offline_reason = f"{host} could not be reached ({type(exc).__name__}: {exc})"
            return self._offline_reason
        if response.status_code != 200:
            return f"{url} answered HTTP {response.status_code}"
        try:
            json.loads(response.text)
        except ValueError:
            return f"{url} did not return JSON"
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".partial") as handle:
            handle.write(response.text)
        Path(handle.name).replace(path)
        return None
