"""The user's settings in a workspace's ks.yaml: every `postBuild.substitute` value (the image tag Renovate bumps,
the volume size, a storage class the user added, ...) belongs to the user once installed. `ocw install` brings the
project's ks.yaml with the user's values put back into it, so that a second install never reverts one, and refuses
such a file only when something other than those values would change."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from ocw.install.ks_template import replace_variable, substitute_of


def keep_user_values(project: str, installed: str, asked: Collection[str] = ()) -> str:
    """The project's ks.yaml text with the installed file's settings: its values where the project has the key, and
    its own lines (with the comments just above them) for keys the project lacks, right after the setting they follow
    in the installed file. `asked`: keys whose project value stands (what the user asks install for on this run)."""
    ours = substitute_of(project)
    theirs = substitute_of(installed)
    if ours is None or theirs is None:
        return project
    changed = {k: v for k, v in theirs.items() if k in ours and ours[k] != v and k not in asked}
    lines = [replace_variable(line, changed) or line for line in project.splitlines(keepends=True)]
    order = list(theirs)  # the installed file's order
    for position, key in enumerate(order):
        if key in ours:
            continue
        placed = (_line_of(lines, earlier) for earlier in reversed(order[:position]))
        after = next((index for index in placed if index is not None), None)
        if after is None:
            after = max(index for index in (_line_of(lines, k) for k in ours) if index is not None)
        lines = _insert_after(lines, after, _user_lines(installed, key))
    return "".join(lines)


def _line_of(lines: list[str], key: str) -> int | None:
    pattern = re.compile(rf"^\s+{re.escape(key)}:")
    return next((index for index, line in enumerate(lines) if pattern.match(line)), None)


def _user_lines(installed: str, key: str) -> list[str]:
    """The installed file's line for `key`, with the comment lines right above it."""
    source = installed.splitlines(keepends=True)
    index = _line_of(source, key)
    if index is None:
        return []
    start = index
    while start > 0 and source[start - 1].strip().startswith("#"):
        start -= 1
    picked = source[start : index + 1]
    if not picked[-1].endswith("\n"):
        picked[-1] += "\n"
    return picked


def _insert_after(lines: list[str], index: int, extra: list[str]) -> list[str]:
    if not lines[index].endswith("\n"):
        lines[index] += "\n"
    return [*lines[: index + 1], *extra, *lines[index + 1 :]]


def shared_values(installed: Mapping[str, Mapping[str, str]], keys: set[str]) -> dict[str, str]:
    """Of `keys`, the values every installed workspace agrees on (say, the image tag Renovate bumped in all of
    them): what a new workspace should start with rather than the project's."""
    agreed: dict[str, str] = {}
    for key in sorted(keys):
        values = {variables.get(key) for variables in installed.values()}
        if len(values) == 1 and None not in values:
            agreed[key] = str(values.pop())
    return agreed
