"""The user's settings in a workspace's ks.yaml: every `postBuild.substitute` value (the image tag Renovate bumps,
the volume size, a storage class the user added, ...) belongs to the user once installed. `ocw install` brings the
project's ks.yaml with the user's values put back into it, so that a second install never reverts one, and refuses
such a file only when something other than those values would change."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from ocw.install.ks_template import replace_variable, substitute_of

SUBSTITUTE_LINE = re.compile(r"^(?P<indent>\s+)(?P<key>[A-Za-z_][A-Za-z0-9_]*):")


def keep_user_values(project: str, installed: str, asked: Collection[str] = ()) -> str:
    """The project's ks.yaml text with the installed file's settings: its values where the project has the key, and
    its own lines (with the comments just above them) for keys the project lacks, after the project's last one.
    `asked`: keys whose project value stands (what the user asks install for on this run)."""
    ours = substitute_of(project)
    theirs = substitute_of(installed)
    if ours is None or theirs is None:
        return project
    changed = {k: v for k, v in theirs.items() if k in ours and ours[k] != v and k not in asked}
    lines = [replace_variable(line, changed) or line for line in project.splitlines(keepends=True)]
    added = [key for key in theirs if key not in ours]
    if added:
        lines = _insert_after_last(lines, set(ours), _user_lines(installed, added))
    return "".join(lines)


def _user_lines(installed: str, keys: list[str]) -> list[str]:
    """The installed file's lines for `keys`, each with the comment lines right above it."""
    source = installed.splitlines(keepends=True)
    picked: list[str] = []
    for index, line in enumerate(source):
        match = SUBSTITUTE_LINE.match(line)
        if match is None or match.group("key") not in keys:
            continue
        start = index
        while start > 0 and source[start - 1].strip().startswith("#"):
            start -= 1
        picked.extend(source[start : index + 1])
    if picked and not picked[-1].endswith("\n"):
        picked[-1] += "\n"
    return picked


def _insert_after_last(lines: list[str], keys: set[str], extra: list[str]) -> list[str]:
    last = max((i for i, line in enumerate(lines) if (m := SUBSTITUTE_LINE.match(line)) and m.group("key") in keys))
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    return [*lines[: last + 1], *extra, *lines[last + 1 :]]


def shared_values(installed: Mapping[str, Mapping[str, str]], keys: set[str]) -> dict[str, str]:
    """Of `keys`, the values every installed workspace agrees on (say, the image tag Renovate bumped in all of
    them): what a new workspace should start with rather than the project's."""
    agreed: dict[str, str] = {}
    for key in sorted(keys):
        values = {variables.get(key) for variables in installed.values()}
        if len(values) == 1 and None not in values:
            agreed[key] = str(values.pop())
    return agreed
