"""What app-template accepts beyond the common values schema `ocw check` validates against.

The cluster runs app-template 4.4.0; the newest common library values schema available offline is 4.1.1, whose route
rules allow only `path` in `matches`. Common 4.3.0 accepts every Gateway API HTTPRouteMatch field there (headers,
queryParams, method: bjw-s-labs/helm-charts#487), and the workspace route's Origin gate matches on a header. For a
values schema older than 4.3.0 the route match schema is therefore the Gateway API's own, from the vendored HTTPRoute
CRD schema, as the newer chart does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ocw.paths import DATA_DIR

ROUTE_MATCHES_SINCE = (4, 3, 0)
HTTPROUTE_SCHEMA = DATA_DIR / "schemas" / "crds" / "gateway.networking.k8s.io" / "httproute_v1.json"
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)$")


def amend(schema_file: str, contents: dict[str, Any], values_dir: str) -> dict[str, Any]:
    """`contents` of `schemas/<schema_file>` in the values schema folder `values_dir`, as the chart accepts it."""
    version = _VERSION.search(values_dir)
    if schema_file != "route.json" or version is None or tuple(map(int, version.groups())) >= ROUTE_MATCHES_SINCE:
        return contents
    rules = _route_rules(contents)
    if rules is None:
        return contents
    crd = json.loads(HTTPROUTE_SCHEMA.read_text())
    gateway_match = crd["properties"]["spec"]["properties"]["rules"]["items"]["properties"]["matches"]["items"]
    rules["properties"]["matches"] = {"type": "array", "items": gateway_match}
    return contents


def _route_rules(contents: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of one route rule, where common 4.x keeps it (instance.allOf[*].properties.rules.items)."""
    for part in (contents.get("instance") or {}).get("allOf") or []:
        rules = ((part.get("properties") or {}).get("rules") or {}).get("items")
        if isinstance(rules, dict) and isinstance(rules.get("properties"), dict):
            return rules
    return None
