"""RFC 6902 JSON patches (add, remove, replace, test), as kustomize applies a `patches:` entry of that form."""

from __future__ import annotations

import copy
from typing import Any


class PatchError(Exception):
    pass


def apply(document: Any, operations: Any) -> Any:
    """A patched deep copy of document; raises PatchError naming the operation that cannot apply."""
    if not isinstance(operations, list):
        raise PatchError(f"expected a list of operations, found a {type(operations).__name__}")
    result = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise PatchError(f"operation {index} needs 'op' and 'path'")
        try:
            result = _apply_one(result, operation)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise PatchError(f"operation {index} ({operation['op']} {operation['path']}): {exc}") from exc
    return result


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"path {pointer!r} must start with '/'")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _apply_one(document: Any, operation: dict[str, Any]) -> Any:
    op = operation["op"]
    tokens = _tokens(str(operation["path"]))
    if op not in ("add", "remove", "replace", "test"):
        raise ValueError(f"unsupported operation {op!r}: use add, remove, replace or test")
    if not tokens:
        if op == "test":
            _test(document, operation)
            return document
        return None if op == "remove" else copy.deepcopy(operation["value"])
    parent = document
    for token in tokens[:-1]:
        parent = parent[int(token)] if isinstance(parent, list) else parent[token]
    last = tokens[-1]
    if op == "test":
        current = parent[int(last)] if isinstance(parent, list) else parent[last]
        if current != operation.get("value"):
            raise ValueError(f"test failed: found {current!r}")
        return document
    if isinstance(parent, list):
        _apply_to_list(parent, last, op, operation)
    elif isinstance(parent, dict):
        if op == "add":
            parent[last] = copy.deepcopy(operation["value"])
        elif op == "remove":
            del parent[last]
        else:
            if last not in parent:
                raise KeyError(f"no member {last!r} to replace")
            parent[last] = copy.deepcopy(operation["value"])
    else:
        raise TypeError(f"cannot index into a {type(parent).__name__}")
    return document


def _apply_to_list(parent: list[Any], token: str, op: str, operation: dict[str, Any]) -> None:
    if op == "add":
        if token == "-":  # noqa: S105 - the JSON pointer for "past the end"
            parent.append(copy.deepcopy(operation["value"]))
            return
        index = int(token)
        if index > len(parent):
            raise IndexError(f"index {index} is past the end of a list of {len(parent)}")
        parent.insert(index, copy.deepcopy(operation["value"]))
        return
    index = int(token)
    if op == "remove":
        del parent[index]
    else:
        parent[index] = copy.deepcopy(operation["value"])


def _test(document: Any, operation: dict[str, Any]) -> None:
    if document != operation.get("value"):
        raise ValueError("test failed on the whole document")
