"""Flux `postBuild` variable substitution, as kustomize-controller applies it to every built object.

Supported, as Flux does: `${VAR}`, `${VAR:=default}` / `${VAR:-default}` (default when unset or empty),
`${VAR=default}` / `${VAR-default}` (default when unset), nested defaults (`${A:-${B}}`), bash pattern replacement
`${VAR/old/new}` and `${VAR//old/new}`, `${#VAR}`, `${VAR^^}` / `${VAR,,}`, and `$${VAR}` as an escape for a literal
`${VAR}`. `$VAR` without braces is left alone. Flux turns an undefined variable into an empty string without a word;
here every such use is reported, because it is almost always a mistake.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DISABLE_KEY = "kustomize.toolkit.fluxcd.io/substitute"
DISABLE_VALUE = "disabled"
VARIABLE_NAME = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
_NAME_AT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_TEXT = re.compile(r"[^$]+")
_TEXT_UNTIL_BRACE = re.compile(r"[^$}]+")


class SubstitutionError(Exception):
    pass


@dataclass
class SubstitutionResult:
    text: str
    undefined: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)


def substitute(text: str, variables: Mapping[str, str]) -> SubstitutionResult:
    result = SubstitutionResult(text="")
    result.text = _Expander(text, variables, result).expand_all()
    return result


def is_disabled(obj: Mapping[str, object]) -> bool:
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return False
    for section in ("annotations", "labels"):
        values = metadata.get(section)
        if isinstance(values, Mapping) and values.get(DISABLE_KEY) == DISABLE_VALUE:
            return True
    return False


class _Expander:
    def __init__(self, text: str, variables: Mapping[str, str], result: SubstitutionResult) -> None:
        self.text = text
        self.variables = variables
        self.result = result

    def expand_all(self) -> str:
        out, _ = self._expand(0, stop_at_brace=False)
        return out

    def _expand(self, pos: int, *, stop_at_brace: bool) -> tuple[str, int]:
        """Expand from pos; when stop_at_brace, stop at the `}` closing the enclosing expression."""
        text = self.text
        parts: list[str] = []
        while pos < len(text):
            char = text[pos]
            if stop_at_brace and char == "}":
                return "".join(parts), pos
            if text.startswith("$${", pos):
                # Escape: `$${X}` is the literal `${X}`; the braces' content is copied untouched.
                close = self._matching_brace(pos + 2)
                parts.append(text[pos + 1 : close + 1])
                pos = close + 1
            elif text.startswith("${", pos):
                value, pos = self._expression(pos + 2)
                parts.append(value)
            elif char == "$":
                parts.append(char)
                pos += 1
            else:
                # Plain text up to the next `$` (or `}` inside an expression) is copied in one piece.
                stop = (_TEXT_UNTIL_BRACE if stop_at_brace else _TEXT).match(text, pos)
                end = stop.end() if stop and stop.end() > pos else pos + 1
                parts.append(text[pos:end])
                pos = end
        if stop_at_brace:
            raise SubstitutionError("unterminated ${ expression")
        return "".join(parts), pos

    def _matching_brace(self, open_pos: int) -> int:
        depth = 0
        for index in range(open_pos, len(self.text)):
            if self.text[index] == "{":
                depth += 1
            elif self.text[index] == "}":
                depth -= 1
                if depth == 0:
                    return index
        raise SubstitutionError(f"unterminated ${{ expression at offset {open_pos}")

    def _expression(self, pos: int) -> tuple[str, int]:
        text = self.text
        length_of = text.startswith("#", pos)
        if length_of:
            pos += 1
        match = _NAME_AT.match(text, pos)
        if not match:
            raise SubstitutionError(f"invalid variable expression starting '{text[pos - 2 : pos + 20]}'")
        name = match.group(0)
        pos = match.end()
        self.result.used.add(name)
        defined = name in self.variables
        value = self.variables.get(name, "")
        if length_of:
            return self._close(str(len(value)), pos, name, defined)
        if text.startswith("}", pos):
            return self._close(value, pos, name, defined)
        for operator in (":=", ":-", "=", "-"):
            if text.startswith(operator, pos):
                default, end = self._expand(pos + len(operator), stop_at_brace=True)
                empty_counts = operator.startswith(":")
                use_default = not defined or (empty_counts and value == "")
                return (default if use_default else value), end + 1
        if text.startswith("^^", pos) or text.startswith(",,", pos):
            upper = text.startswith("^^", pos)
            return self._close(value.upper() if upper else value.lower(), pos + 2, name, defined)
        if text.startswith("/", pos):
            replace_all = text.startswith("//", pos)
            body, end = self._expand(pos + (2 if replace_all else 1), stop_at_brace=True)
            old, _, new = body.partition("/")
            replaced = value.replace(old, new) if replace_all else value.replace(old, new, 1)
            if not defined:
                self.result.undefined.append(name)
            return replaced, end + 1
        raise SubstitutionError(f"unsupported variable expression starting '${{{text[pos - len(name) : pos + 20]}'")

    def _close(self, value: str, pos: int, name: str, defined: bool) -> tuple[str, int]:
        if not self.text.startswith("}", pos):
            raise SubstitutionError(f"expected '}}' after ${{{name}")
        if not defined:
            self.result.undefined.append(name)
        return value, pos + 1
