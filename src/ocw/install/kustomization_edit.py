"""Insertions into a kustomization.yaml the user owns: one `resources:` entry or one `patches:` entry, added as text so
that every other line (comments, order, quoting, blank lines) stays byte for byte. Anything whose shape is not the plain
block style these files use is refused rather than guessed at; the result is re-parsed and must equal the original
plus exactly the one entry."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ocw.yamlio import YamlError, load_all_strict

ITEM = re.compile(r"^(?P<indent> *)- (?P<value>.*?)\s*(?:#.*)?$")
PLAIN_VALUE = re.compile(r"^[A-Za-z0-9._/@+~-]+$")

# Picks where a new entry goes among the existing ones: the index to insert before (len(values) appends).
Position = Callable[[Sequence[str], str], int]


class ShapeError(Exception):
    """The file is not in a shape this module edits safely; the message says what was expected and found."""


@dataclass(frozen=True)
class Edit:
    text: str
    changed: bool


def append_position(values: Sequence[str], _new: str) -> int:
    return len(values)


def flux_aggregator_position(values: Sequence[str], new: str) -> int:
    """Where a `./<app>/ks.yaml` goes in an apps folder's kustomization: namespace first, then apps alphabetically."""
    for index, value in enumerate(values):
        if value.endswith("/ks.yaml") and value > new:
            return index
    return len(values)


def add_resource(text: str, entry: str, position: Position = append_position) -> Edit:
    """`entry` listed under `resources:`; unchanged when it is there already."""
    lines, newline = _lines(text)
    document = _kustomization(text)
    key = _key_line(lines, "resources")
    if key is None:
        raise ShapeError("expected a `resources:` list, found none")
    current = document.get("resources")
    if not isinstance(current, list) or not all(isinstance(v, str) for v in current):
        raise ShapeError(f"expected `resources:` to be a list of paths, found {_kind_of(current)}")
    items = _block_items(lines, key)
    values = [_item_value(lines[i]) for i in items.starts]
    if values != current:
        raise ShapeError("expected each `resources:` entry on one line as `- path`, found another layout")
    if _normal(entry) in {_normal(v) for v in values}:
        return Edit(text, changed=False)
    index = position(values, entry)
    new_line = f"{items.indent}- {entry}"
    at = items.starts[index] if index < len(values) else items.last + 1
    new_lines = [*lines[:at], new_line, *lines[at:]]
    new_text = _join(new_lines, newline)
    _verify(text, new_text, "resources", [*current[:index], entry, *current[index:]])
    return Edit(new_text, changed=True)


def add_patch(text: str, path: str, target: Mapping[str, str]) -> Edit:
    """A `patches:` entry `{path, target}`; unchanged when an entry with that path and target is there already."""
    lines, newline = _lines(text)
    document = _kustomization(text)
    current = document.get("patches")
    if current is not None and not isinstance(current, list):
        raise ShapeError(f"expected `patches:` to be a list, found {_kind_of(current)}")
    wanted = {"path": path, "target": dict(target)}
    for patch in current or []:
        if isinstance(patch, dict) and _normal(str(patch.get("path", ""))) == _normal(path):
            if patch.get("target") == dict(target):
                return Edit(text, changed=False)
            raise ShapeError(
                f"expected the patch {path} to target {_describe(target)}, found it with target "
                f"{json.dumps(patch.get('target'))}"
            )
    key = _key_line(lines, "patches")
    if key is None:
        block = ["patches:", *_patch_lines(_list_indent(lines), wanted)]
        while lines and not lines[-1].strip():
            lines = lines[:-1]  # the new key follows the last line with content; trailing blank lines are dropped
        new_lines = [*lines, *block]
    else:
        items = _block_items(lines, key)
        new_lines = [*lines[: items.last + 1], *_patch_lines(items.indent, wanted), *lines[items.last + 1 :]]
    new_text = _join(new_lines, newline)
    _verify(text, new_text, "patches", [*(current or []), wanted])
    return Edit(new_text, changed=True)


@dataclass(frozen=True)
class _Items:
    indent: str
    starts: list[int]  # line index of each `- ` item
    last: int  # line index of the last line with content that belongs to the list


def _lines(text: str) -> tuple[list[str], str]:
    newline = "\r\n" if "\r\n" in text else "\n"
    return text.splitlines(), newline


def _join(lines: Sequence[str], newline: str) -> str:
    return newline.join(lines) + newline


def _kustomization(text: str) -> dict[str, Any]:
    try:
        documents = load_all_strict(text)
    except YamlError as exc:
        where = f" at line {exc.line}" if exc.line else ""
        raise ShapeError(f"expected valid YAML, found an error{where}: {exc.message}") from exc
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ShapeError(f"expected one YAML document with a map, found {len(documents)} document(s)")
    document: dict[str, Any] = documents[0]
    if document.get("kind") not in ("Kustomization", "Component"):
        raise ShapeError(f"expected kind Kustomization, found {document.get('kind')!r}")
    return document


def _key_line(lines: Sequence[str], key: str) -> int | None:
    found = [i for i, line in enumerate(lines) if line.startswith(f"{key}:")]
    if not found:
        return None
    rest = lines[found[0]][len(key) + 1 :].strip()
    if rest and not rest.startswith("#"):
        raise ShapeError(f"expected `{key}:` followed by a block list (`  - ...` lines), found `{key}: {rest}`")
    return found[0]


def _block_items(lines: Sequence[str], key: int) -> _Items:
    indent: str | None = None
    starts: list[int] = []
    last = key
    for index in range(key + 1, len(lines)):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = ITEM.match(line)
        if indent is None:
            if not match:
                raise ShapeError(f"expected `- ` list items under line {key + 1}, found {stripped!r}")
            indent = match.group("indent")
        if match and match.group("indent") == indent:
            starts.append(index)
        elif len(line) - len(line.lstrip(" ")) <= len(indent):
            break  # the next key (or document end): the list is over
        last = index
    if indent is None:
        raise ShapeError(f"expected list items under line {key + 1}, found an empty list")
    return _Items(indent, starts, last)


def _list_indent(lines: Sequence[str]) -> str:
    for line in lines:
        match = ITEM.match(line)
        if match:
            return match.group("indent")
    return "  "


def _item_value(line: str) -> str:
    match = ITEM.match(line)
    raw = match.group("value") if match else ""
    try:
        loaded = load_all_strict(raw)
    except YamlError:
        return raw
    return loaded[0] if len(loaded) == 1 and isinstance(loaded[0], str) else raw


def _patch_lines(indent: str, patch: Mapping[str, Any]) -> list[str]:
    target: Mapping[str, str] = patch["target"]
    lines = [f"{indent}- path: {_scalar(str(patch['path']))}", f"{indent}  target:"]
    lines.extend(f"{indent}    {key}: {_scalar(value)}" for key, value in target.items())
    return lines


def _scalar(value: str) -> str:
    return value if PLAIN_VALUE.match(value) else json.dumps(value)


def _kind_of(value: object) -> str:
    return "nothing" if value is None else f"a {type(value).__name__}"


def _normal(path: str) -> str:
    return path.removeprefix("./")


def _describe(target: Mapping[str, str]) -> str:
    return json.dumps(dict(target))


def _verify(old: str, new: str, key: str, expected: list[Any]) -> None:
    """The new text must only add lines, and parse to the old document with `key` equal to `expected`."""
    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    if any(tag not in ("equal", "insert") for tag, *_ in matcher.get_opcodes()):
        raise ShapeError(f"internal: adding to `{key}:` would change existing lines; nothing was written")
    before = _kustomization(old)
    after = _kustomization(new)
    if after != {**before, key: expected}:
        raise ShapeError(f"expected the edit to add exactly one `{key}:` entry, found another result; nothing written")
