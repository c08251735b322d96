"""A new workspace's `ks.yaml`, made from an existing one's text (the template app) by replacing the app name and the
per-workspace variables line by line. Comments, anchors, order and every variable install does not know about (a
new switch added to the component, say) flow through unchanged; the result is parsed back and must say exactly what
was asked."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ocw.errors import OcwError
from ocw.yamlio import YamlError, load_all_strict

PLAIN = re.compile(r"^[A-Za-z0-9_./:@+~-][A-Za-z0-9_./:@+~ -]*$")


def per_workspace_keys(templates: Sequence[Mapping[str, str]]) -> set[str]:
    """Variables whose value differs between the existing workspaces: each new one needs its own value."""
    keys = {key for variables in templates for key in variables}
    return {key for key in keys if len({variables.get(key) for variables in templates}) > 1}


def render(template: str, template_app: str, app: str, values: Mapping[str, str], must_set: set[str]) -> str:
    """The template with app `template_app` renamed to `app` and the substitute variables in `values` replaced."""
    substitute = _substitute(_document(template))
    unknown = sorted(set(values) - set(substitute))
    missing = sorted(must_set - set(values) - {"APP"})
    if unknown or missing:
        raise OcwError(
            f"internal: the workspace template's variables and install's disagree (not in the template: {unknown}; "
            f"different per workspace but not set by install: {missing})",
            hint="set it in NewWorkspace.variables (derived_variables for one computed from others) in "
            "src/ocw/install/new_workspace.py",
        )
    lines = []
    for line in template.splitlines(keepends=True):
        lines.append(replace_variable(line, values) or _rename(line, template_app, app))
    text = "".join(lines)
    _verify(text, app, {**substitute, **values})
    return text


def _document(text: str) -> dict[str, Any]:
    try:
        documents = load_all_strict(text)
    except YamlError as exc:
        raise OcwError(f"internal: the workspace template does not parse: {exc.message}") from exc
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise OcwError("internal: the workspace template must be one Flux Kustomization")
    document: dict[str, Any] = documents[0]
    return document


def substitute_of(text: str) -> dict[str, str] | None:
    """The `postBuild.substitute` of a ks.yaml text, or None when it is not one Flux Kustomization that parses."""
    try:
        documents = load_all_strict(text)
    except YamlError:
        return None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        return None
    return _substitute(documents[0])


def _substitute(document: dict[str, Any]) -> dict[str, str]:
    spec = document.get("spec") or {}
    variables = (spec.get("postBuild") or {}).get("substitute") or {}
    return {str(k): str(v) for k, v in variables.items()}


def replace_variable(line: str, values: Mapping[str, str]) -> str | None:
    for key, value in values.items():
        match = re.match(rf"^(?P<lead>\s+{key}:\s+)(?P<value>.*?)(?P<trail>\s+#.*)?(?P<end>\r?\n)?$", line)
        if match:
            old = match.group("value")
            end = match.group("end") or ""
            return f"{match.group('lead')}{_scalar(value, old)}{match.group('trail') or ''}{end}"
    return None


def _scalar(value: str, old: str) -> str:
    """The value in the template line's quoting style, or double-quoted where plain YAML would change it."""
    if old.startswith("'"):
        return "'" + value.replace("'", "''") + "'"
    if old.startswith('"') or not PLAIN.match(value) or load_all_strict(value) != [value]:
        return json.dumps(value)
    return value


def _rename(line: str, template_app: str, app: str) -> str:
    return re.sub(rf"(?<![A-Za-z0-9-]){re.escape(template_app)}(?![A-Za-z0-9-])", app, line)


def _verify(text: str, app: str, expected: Mapping[str, str]) -> None:
    document = _document(text)
    substitute = _substitute(document)
    spec = document.get("spec") or {}
    problems = []
    if (document.get("metadata") or {}).get("name") != app:
        problems.append("metadata.name")
    if not str(spec.get("path", "")).endswith(f"/{app}/app"):
        problems.append("spec.path")
    if substitute != {**expected, "APP": app}:
        problems.append("postBuild.substitute")
    if problems:
        raise OcwError(f"internal: the generated ks.yaml for {app} is wrong in {', '.join(problems)}; nothing written")
