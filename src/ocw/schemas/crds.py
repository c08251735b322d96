"""Schemas from CustomResourceDefinition objects: each served version's `schema.openAPIV3Schema`, as JSON schema.

The hook between the repository's CRDs and validation: whoever finds CRDs (a chart that renders them, a folder of
plain manifests) hands them to `SchemaValidation.use_crds`, and the kinds they define are validated against them
instead of the vendored or cached catalogue. An OpenAPI `nullable: true` becomes JSON schema's `null` type; the
`x-kubernetes-*` markers need nothing (without a `type`, JSON schema accepts int-or-string and preserved fields).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ocw.kube.manifest import Manifest, mapping, mappings

Schema = dict[str, Any]


def _json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        converted["type"] = [node["type"], "null"]
    return converted


def crd_schemas(crds: Iterable[Manifest]) -> dict[tuple[str, str], tuple[Schema, str]]:
    """(apiVersion, kind) -> (schema, which object defined it), for every version a CRD serves with a schema."""
    found: dict[tuple[str, str], tuple[Schema, str]] = {}
    for crd in crds:
        spec = crd.spec
        group = str(spec.get("group", ""))
        kind = str(mapping(spec.get("names")).get("kind", ""))
        for version in mappings(spec.get("versions")):
            schema = mapping(mapping(version.get("schema")).get("openAPIV3Schema"))
            if group and kind and schema and version.get("served", True) is not False:
                found[(f"{group}/{version.get('name')}", kind)] = (_json_schema(schema), crd.label)
    return found
