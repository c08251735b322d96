"""Reading fields of objects nobody validated yet: a repository may hold a `spec` that is a string or a `patches`
that is a number. The schema checks say what is wrong; reading such a field gives nothing instead of a crash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def mapping(value: Any, *path: str) -> dict[str, Any]:
    """The map at path under value; {} where something on the way is not a map."""
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return dict(value) if isinstance(value, Mapping) else {}


def items(value: Any, *path: str) -> list[Any]:
    """The list at path under value; [] where something on the way is not a map, or the end is not a list."""
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return list(value) if isinstance(value, list) else []
