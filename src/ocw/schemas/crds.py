"""A CustomResourceDefinition version's `schema.openAPIV3Schema` as the JSON schema the API server enforces, converted
as the CRD catalogue (datreeio/CRDs-catalog's openapi2jsonschema) converts CRDs: an object with `properties` refuses
fields it does not declare (server-side apply fails with "field not declared in schema") unless it sets
`x-kubernetes-preserve-unknown-fields`; `x-kubernetes-int-or-string` takes a string or an integer; `nullable: true`
also takes null.

The CRDs come from `ocw.apis.RepositoryCRDs`: the ones the repository writes and the ones its charts render.
"""

from __future__ import annotations

import copy
from typing import Any

Schema = dict[str, Any]


def json_schema(openapi_schema: Schema) -> Schema:
    """The JSON schema of one CRD version (the root keeps its openness, as in the catalogue)."""
    converted: Schema = _convert(copy.deepcopy(openapi_schema), root=True)
    return converted


def _convert(node: Any, *, root: bool = False) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _convert(value) for key, value in node.items() if key != "nullable"}
    if converted.get("x-kubernetes-int-or-string") or converted.get("format") == "int-or-string":
        converted.pop("type", None)
        converted.pop("format", None)
        converted["anyOf"] = [{"type": "string"}, {"type": "integer"}]
    if node.get("nullable") is True and isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
    if (
        "properties" in converted
        and not root
        and "additionalProperties" not in converted
        and not converted.get("x-kubernetes-preserve-unknown-fields")
    ):
        converted["additionalProperties"] = False
    return converted
