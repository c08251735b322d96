"""Validators built with jsonschema, and what they find as messages. Loaded only when an object has no kept verdict
(`ocw.schemas.verdicts`): a check of an unchanged repository never imports jsonschema."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing._core import Resolver
from referencing.jsonschema import DRAFT7

from ocw.schemas.values_amendments import amend

MAX_ERRORS_PER_OBJECT = 20
MAX_MESSAGE = 240


def definitions_registry(definitions: Path) -> Registry[Any]:
    """The Kubernetes schemas' shared definitions (_definitions.json), which every kind's schema refers to."""
    return Resource.from_contents(json.loads(definitions.read_text())) @ Registry()


def core_validator(path: Path, definitions: Registry[Any]) -> Draft202012Validator:
    """The validator of one Kubernetes schema file, its `$ref`s into the definitions resolved."""
    schema = json.loads(path.read_text())
    registry = Resource.from_contents(schema) @ definitions
    resolver = registry.resolver(str(schema.get("$id", "")))
    return Draft202012Validator(_inline_refs(schema, resolver, siblings_apply=True), registry=registry)


def schema_validator(schema: Any) -> Any:
    """The validator of a CRD's or a catalog's schema, of the draft it declares (draft 7 when none)."""
    return validator_for(schema, default=Draft7Validator)(schema)


def values_validator(path: Path) -> Draft7Validator:
    schema = json.loads(path.read_text())
    base = str(schema.get("$id", path.resolve().as_uri())).rsplit("/", 1)[0] + "/"
    registry: Registry[Any] = Registry()
    for part in sorted((path.parent / "schemas").glob("*.json")):
        contents = amend(part.name, json.loads(part.read_text()), path.parent.name)
        registry = registry.with_resource(f"{base}schemas/{part.name}", DRAFT7.create_resource(contents))
    registry = registry.with_resource(base + path.name, DRAFT7.create_resource(schema))
    resolver = registry.resolver(base + path.name)
    return Draft7Validator(_inline_refs(schema, resolver, siblings_apply=False), registry=registry)


_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment"})


def _inline_refs(node: Any, resolver: Resolver[Any], *, siblings_apply: bool, seen: tuple[str, ...] = ()) -> Any:
    """The schema with its `$ref`s replaced by what they point to, resolved once here rather than at every
    validation (three times faster on app-template values). A recursive definition keeps its `$ref`, made absolute
    so that the validator's registry still resolves it from wherever it now sits."""
    if isinstance(node, list):
        return [_inline_refs(item, resolver, siblings_apply=siblings_apply, seen=seen) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str):
        absolute = urljoin(resolver._base_uri, reference)
        if absolute in seen:
            return {**node, "$ref": absolute}
        resolved = resolver.lookup(reference)
        target = _inline_refs(
            resolved.contents, resolved.resolver, siblings_apply=siblings_apply, seen=(*seen, absolute)
        )
        # Draft 7 ignores the keywords beside a $ref; 2020-12 applies them as well.
        siblings = {k: v for k, v in node.items() if k != "$ref" and k not in _ANNOTATIONS}
        if not siblings_apply or not siblings:
            return target
        inlined = {k: _inline_refs(v, resolver, siblings_apply=True, seen=seen) for k, v in siblings.items()}
        return {**inlined, "allOf": [target]}
    return {k: _inline_refs(v, resolver, siblings_apply=siblings_apply, seen=seen) for k, v in node.items()}


def errors(validator: Any, instance: Any, skip: re.Pattern[str] | None = None) -> Iterator[str]:
    errors: Iterable[ValidationError] = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    count = 0
    for error in errors:
        path = "/".join(str(p) for p in error.absolute_path)
        if skip is not None and skip.match(path):
            continue
        count += 1
        if count > MAX_ERRORS_PER_OBJECT:
            yield f"... and more errors (showing the first {MAX_ERRORS_PER_OBJECT})"
            return
        yield f"{path or '(top level)'}: {_describe(error)}"


def _describe(error: ValidationError) -> str:
    if error.validator in ("oneOf", "anyOf") and error.context:
        closest = best_match(error.context)
        inner = "/".join(str(p) for p in closest.relative_path)
        return _short(f"matches none of the allowed forms; closest: {inner + ': ' if inner else ''}{closest.message}")
    return _short(error.message)


def _short(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."
