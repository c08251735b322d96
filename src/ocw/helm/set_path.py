"""Setting one value at a `--set`-style path, as helm-controller does for a `valuesFrom` entry with `targetPath`
(fluxcd/pkg chartutil ReplacePathValue / ReplacePathLiteralValue over Helm's strvals):

- the path is dot-separated, `\\.` is a literal dot, `name[2]` indexes a list (grown with nulls as needed);
- a literal value is taken verbatim; a value in single or double quotes is the string inside them; otherwise `true`,
  `false`, `null` and integers are typed, `{a,b}` is a list, anything else is a string.

A value with a comma outside braces would be several `--set` assignments to Helm: that is refused here with the fix
(`literal: true`) rather than guessed.
"""

from __future__ import annotations

import re
from typing import Any

_INDEX = re.compile(r"^(.*?)\[(\d+)\]$")
_INTEGER = re.compile(r"^[-+]?(0|[1-9]\d*)$")


class PathError(ValueError):
    pass


def _keys(path: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in path:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    if any(not part for part in parts):
        raise PathError("an empty key")
    return parts


def _typed(text: str) -> Any:
    if text.lower() == "true":
        return True
    if text.lower() == "false":
        return False
    if text == "null":
        return None
    if _INTEGER.match(text):
        return int(text)
    return text


def _value(text: str, literal: bool) -> Any:
    if literal:
        return text
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        if "," in inner:
            raise PathError(
                "the quoted value holds a comma, which Helm reads as a second assignment: set literal: true"
            )
        return inner
    if text.startswith("{") and text.endswith("}"):
        return [_typed(item) for item in text[1:-1].split(",")] if text[1:-1] else []
    if "," in text:
        raise PathError("the value holds a comma, which Helm reads as a second assignment: set literal: true")
    return _typed(text)


def set_path(values: dict[str, Any], path: str, text: str, *, literal: bool = False) -> None:
    value = _value(text, literal)
    node: Any = values
    keys = _keys(path)
    for position, key in enumerate(keys):
        last = position == len(keys) - 1
        match = _INDEX.match(key)
        name, index = (match.group(1), int(match.group(2))) if match else (key, None)
        if index is None:
            if last:
                node[name] = value
                return
            if not isinstance(node.get(name), dict):
                node[name] = {}
            node = node[name]
            continue
        items = node.get(name) if isinstance(node.get(name), list) else []
        node[name] = items
        items.extend([None] * (index + 1 - len(items)))
        if last:
            items[index] = value
            return
        if not isinstance(items[index], dict):
            items[index] = {}
        node = items[index]
