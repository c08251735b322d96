"""Schema validation of every object: core kinds against the Kubernetes schemas shipped by `kubernetes-validate`
(strict: unknown fields are errors), custom resources against their CRD schemas, app-template values against the
bjw-s common values schema. Objects a chart renders are validated like the tree's; an error in a rendered workload is
a `schema-pod` finding at its HelmRelease.

CustomResourceDefinitions the repository installs (written in it, or rendered by its charts: one collection,
`ocw.apis.RepositoryCRDs`) take precedence over the vendored and cached schemas for their kinds.

Schemas are loaded once per run and validators cached per kind: validation must stay cheap next to the builds. What
validation found is kept between runs (`ocw.schemas.verdicts`): a validator is only built for a kind when an object of
it was not validated before against the same schema.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ocw.apis import RepositoryCRDs
from ocw.errors import OcwError
from ocw.findings import Finding, about
from ocw.kube.manifest import Manifest
from ocw.kube.pod import is_workload
from ocw.schemas.catalog import Missing, SchemaCatalog
from ocw.schemas.crds import json_schema
from ocw.schemas.verdicts import Verdicts, canonical

if TYPE_CHECKING:
    from jsonschema import Draft7Validator, Draft202012Validator
    from referencing import Registry

_CORE_SCHEMAS = "kubernetes-json-schema"
# Env values of a pod spec written in the tree that are not strings are reported once, by env-value-type, with the fix.
_WORKLOAD_ENV_VALUE_PATH = re.compile(r"(^|/)(initContainers|containers)/\d+/env/\d+/value$")


@cache
def _core_schemas_root() -> Path:
    """kubernetes-validate's folder of schemas, found without importing the package (which imports jsonschema)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise OcwError("kubernetes-validate is not installed: it holds the Kubernetes schemas", hint="reinstall ocw")
    return Path(locations[0]) / _CORE_SCHEMAS


@cache
def available_kubernetes_versions() -> tuple[str, ...]:
    root = _core_schemas_root()
    versions = {m.group(1) for p in root.iterdir() if (m := re.match(r"^v(\d+\.\d+)\.\d+-local-strict$", p.name))}
    return tuple(sorted(versions, key=lambda v: tuple(int(x) for x in v.split("."))))


def _version_key(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor.split(".")[0] or 0)


class CoreSchemas:
    """The Kubernetes OpenAPI schemas of one version, strict flavour."""

    def __init__(self, kubernetes_version: str) -> None:
        wanted = kubernetes_version.removeprefix("v")
        if not re.match(r"^\d+\.\d+", wanted):
            raise OcwError(f"--kubernetes-version expects MAJOR.MINOR such as 1.35, found {kubernetes_version!r}")
        versions = available_kubernetes_versions()
        usable = [v for v in versions if _version_key(v) <= _version_key(wanted)]
        if not usable or _version_key(wanted) > _version_key(versions[-1]):
            raise OcwError(
                f"no Kubernetes {wanted} schemas: the installed kubernetes-validate has {versions[0]} to "
                f"{versions[-1]}",
                hint="pass a version in that range, or upgrade it: pip install -U kubernetes-validate",
            )
        self.version = usable[-1]
        self._dir = _core_schemas_root() / f"v{self.version}.0-local-strict"
        self._registry: Registry[Any] | None = None
        self._validators: dict[str, Draft202012Validator | None] = {}
        self._present: dict[str, bool] = {}

    def _file(self, kind: str, api_version: str) -> Path:
        group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        return self._dir / f"{kind.lower()}-{group_version}.json"

    def has(self, kind: str, api_version: str) -> bool:
        key = f"{api_version}/{kind}"
        if key not in self._present:
            self._present[key] = self._file(kind, api_version).is_file()
        return self._present[key]

    def identity(self, kind: str, api_version: str) -> str:
        """What decides the kind's validation (the package's version is in the verdicts' code digest)."""
        return f"core:{self.version}:{self._file(kind, api_version).name}"

    def validator(self, kind: str, api_version: str) -> Draft202012Validator | None:
        key = f"{api_version}/{kind}"
        if key not in self._validators:
            path = self._file(kind, api_version)
            self._validators[key] = self._load(path) if path.is_file() else None
        return self._validators[key]

    def _load(self, path: Path) -> Draft202012Validator:
        validators = _validators()
        if self._registry is None:
            self._registry = validators.definitions_registry(self._dir / "_definitions.json")
        return validators.core_validator(path, self._registry)


# Validators built in this process, by their schema's identity: the identity tells every input of the schema (a
# content digest, or the installed kubernetes-validate file), so a later run in the same process (a library caller, a
# test session) reuses what an earlier one built; resolving a schema's `$ref`s costs tens of milliseconds a kind.
_BUILT: dict[str, Any] = {}
_BUILT_MAX = 512


class Schema:
    """One schema: its identity (None: it cannot be told apart, so nothing it decides is kept), and its validator,
    built on first use."""

    def __init__(self, identity: str | None, load: Callable[[], Any]) -> None:
        self.identity = identity
        self._load = load
        self._validator: Any = None

    def validator(self) -> Any:
        if self._validator is None:
            if self.identity is None:
                self._validator = self._load()
            else:
                self._validator = _BUILT.get(self.identity)
                if self._validator is None:
                    self._validator = self._load()
                    if len(_BUILT) >= _BUILT_MAX:
                        _BUILT.clear()
                    _BUILT[self.identity] = self._validator
        return self._validator


class CustomSchemas:
    """Custom resource schemas: the repository's own CRD for the kind first (what the cluster will run), else the
    catalog's layers."""

    def __init__(self, catalog: SchemaCatalog, crds: RepositoryCRDs | None = None) -> None:
        self.catalog = catalog
        self.crds = crds if crds is not None else RepositoryCRDs()
        self._schemas: dict[tuple[str, str], Schema | Missing] = {}

    def schema(self, kind: str, api_version: str) -> Schema | Missing:
        """The kind's schema, or Missing when none can be found."""
        key = (api_version, kind)
        if key not in self._schemas:
            group, _, version = api_version.rpartition("/")
            own = self.crds.schema(group, kind, version)
            found: Schema | Missing
            if own is not None:
                schema = json_schema(own)
                text = canonical(schema)
                identity = "crd:" + hashlib.sha256(text).hexdigest() if text is not None else None
                found = Schema(identity, lambda: _validators().schema_validator(schema))
            else:
                path = self.catalog.crd(group, kind, version)
                found = path if isinstance(path, Missing) else _file_schema(path)
            self._schemas[key] = found
        return self._schemas[key]

    def validator(self, kind: str, api_version: str) -> Any:
        """A validator, or Missing when no schema can be found."""
        found = self.schema(kind, api_version)
        return found if isinstance(found, Missing) else found.validator()


def _file_schema(path: Path) -> Schema:
    data = path.read_bytes()

    def load() -> Any:
        return _validators().schema_validator(json.loads(data))

    return Schema("file:" + hashlib.sha256(data).hexdigest(), load)


class ValuesSchema:
    """The bjw-s common library values schema, its `$ref`s to schemas/*.json resolved from disk."""

    def __init__(self, catalog: SchemaCatalog) -> None:
        self.catalog = catalog
        self._schema: Schema | Missing | None = None

    def schema(self) -> Schema | Missing:
        if self._schema is None:
            found = self.catalog.app_template_values()
            self._schema = found if isinstance(found, Missing) else _values_schema(found)
        return self._schema

    def validator(self) -> Draft7Validator | Missing:
        found = self.schema()
        return found if isinstance(found, Missing) else found.validator()


def _values_schema(path: Path) -> Schema:
    """The values schema, identified by its folder's files (the amendments are ocw's code: in the verdicts' key)."""
    digest = hashlib.sha256(f"{path.parent.name}\0{path.name}\0".encode())
    digest.update(path.read_bytes())
    for part in sorted((path.parent / "schemas").glob("*.json")):
        digest.update(f"\0{part.name}\0".encode())
        digest.update(part.read_bytes())
    return Schema("values:" + digest.hexdigest(), lambda: _validators().values_validator(path))


class SchemaValidation:
    def __init__(
        self,
        catalog: SchemaCatalog,
        kubernetes_version: str,
        crds: RepositoryCRDs | None = None,
        verdicts: Verdicts | None = None,
    ) -> None:
        self.core = CoreSchemas(kubernetes_version)
        self.custom = CustomSchemas(catalog, crds)
        self.values = ValuesSchema(catalog)
        self.verdicts = Verdicts() if verdicts is None else verdicts
        self.validated = 0
        self.without_schema = 0  # handed in, but no schema here: with `validated`, every object the progress counted

    def is_core(self, manifest: Manifest) -> bool:
        """A built-in Kubernetes kind, validated against the Kubernetes schemas whatever CRDs the repository has."""
        return bool(manifest.kind and manifest.api_version) and self.core.has(manifest.kind, manifest.api_version)

    def check(self, objects: Iterable[Manifest], app_template_releases: Iterable[Manifest] = ()) -> list[Finding]:
        """Findings for every object (the tree's, the host's, what charts render) and for the values of the
        app-template HelmReleases."""
        findings: list[Finding] = []
        try:
            planned = [self._plan_object(manifest) for manifest in objects]
            planned.extend(self._plan_values(helmrelease) for helmrelease in app_template_releases)
            # The kept verdicts of the whole batch in a few queries, not one round trip per object.
            self.verdicts.prefetch(p.key for p in planned if isinstance(p, _Planned) and p.key is not None)
            for plan in planned:
                findings.extend(plan if isinstance(plan, list) else self._findings(plan))
        finally:
            self.verdicts.flush()
        return findings

    def _plan_object(self, manifest: Manifest) -> _Planned | list[Finding]:
        if not manifest.kind or not manifest.api_version:
            return [about(manifest, "schema-core", "the object has no apiVersion or kind")]
        kind, api_version = manifest.kind, manifest.api_version
        if self.core.has(kind, api_version):
            schema = Schema(self.core.identity(kind, api_version), lambda: self.core.validator(kind, api_version))
            rule = "schema-core"
        else:
            found = self.custom.schema(kind, api_version)
            rule = "schema-crd"
            if isinstance(found, Missing):
                self.without_schema += 1
                return [about(manifest, "schema-missing", found.message())]
            schema = found
        self.validated += 1
        if manifest.rendered_from is not None and is_workload(manifest):
            rule = "schema-pod"
        skip = None if manifest.rendered_from is not None else _WORKLOAD_ENV_VALUE_PATH
        return self._planned(manifest, rule, "", schema, manifest.obj, skip=skip)

    def _plan_values(self, helmrelease: Manifest) -> _Planned | list[Finding]:
        schema = self.values.schema()
        if isinstance(schema, Missing):
            return [about(helmrelease, "schema-missing", schema.message())]
        values = helmrelease.spec.get("values") or {}
        return self._planned(helmrelease, "schema-values", "spec.values: ", schema, values, skip=None)

    def _planned(
        self,
        manifest: Manifest,
        rule: str,
        prefix: str,
        schema: Schema,
        instance: Any,
        *,
        skip: re.Pattern[str] | None,
    ) -> _Planned:
        key = None
        if schema.identity is not None:
            key = self.verdicts.key(schema.identity, instance, skip.pattern if skip is not None else "")
        return _Planned(manifest, rule, prefix, schema, instance, skip, key)

    def _findings(self, plan: _Planned) -> list[Finding]:
        """What validation finds in the instance: the verdict kept from an earlier run, else validated now."""
        messages = self.verdicts.get(plan.key) if plan.key is not None else None
        if messages is None:
            messages = list(_validators().errors(plan.schema.validator(), plan.instance, skip=plan.skip))
            if plan.key is not None:
                self.verdicts.put(plan.key, messages)
        return [about(plan.manifest, plan.rule, plan.prefix + message) for message in messages]


@dataclass(frozen=True)
class _Planned:
    """One instance to validate against one schema, and how its messages become findings."""

    manifest: Manifest
    rule: str
    prefix: str
    schema: Schema
    instance: Any
    skip: re.Pattern[str] | None
    key: bytes | None


def _validators() -> ModuleType:
    """jsonschema's side of validation, imported on the first object without a kept verdict."""
    from ocw.schemas import validators  # noqa: PLC0415 - jsonschema costs every run that validates nothing new

    return validators
