"""The part of Go's text/template that ExternalSecret templates (engine v2) in this tree use, with the same results.

Supported: text, `{{ .KEY }}`, `{{ index . "KEY" }}`, string literals, comments, trim markers (`{{-`, `-}}`) and
pipelines through a few sprig functions (`.KEY | b64enc | quote`). A reference to a key that is not there is an error,
as in external-secrets (it executes templates with `missingkey=error`). Anything else (conditionals, variables,
other functions) is refused with an error naming it: a template is never rendered to a silently wrong value.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ocw.errors import OcwError


class TemplateError(OcwError):
    pass


@dataclass(frozen=True)
class Field:
    key: str


@dataclass(frozen=True)
class Literal:
    value: str


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Field | Literal, ...]


Command = Field | Literal | Call
Pipeline = tuple[Command, ...]
Node = str | Pipeline  # text, or an action's pipeline


def _b64dec(value: str) -> str:
    try:
        return base64.b64decode(value.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        # sprig would put the decoder's error text into the Secret; refusing is the only useful answer.
        raise TemplateError(f"b64dec: the value is not valid base64 text ({exc})") from exc


def _go_quote(value: str) -> str:
    """Go's strconv.Quote (what sprig's `quote` does with fmt's %q)."""
    escapes = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
    escapes |= {"\t": "\\t", "\v": "\\v"}
    out = []
    for char in value:
        code = ord(char)
        if char in escapes:
            out.append(escapes[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not char.isprintable():
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


# name -> (number of arguments, implementation); the piped value, if any, is the last argument, as in Go.
FUNCTIONS: dict[str, tuple[int, Callable[..., str]]] = {
    "b64enc": (1, lambda s: base64.b64encode(s.encode()).decode()),
    "b64dec": (1, _b64dec),
    "trim": (1, str.strip),
    "upper": (1, str.upper),
    "lower": (1, str.lower),
    "quote": (1, _go_quote),
    "squote": (1, lambda s: f"'{s}'"),
    "toString": (1, lambda s: s),
    "trimPrefix": (2, lambda prefix, s: s.removeprefix(prefix)),
    "trimSuffix": (2, lambda suffix, s: s.removesuffix(suffix)),
    "replace": (3, lambda old, new, s: s.replace(old, new)),
}

_ACTION = re.compile(r"\{\{(-[ \t\r\n])?(.*?)([ \t\r\n]-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
      | (?P<dot>\.)(?![A-Za-z_])
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<raw>`[^`]*`)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<pipe>\|)
      | (?P<other>\S+)
    )""",
    re.VERBOSE,
)
_GO_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(literal: str, where: str) -> str:
    body = literal[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _GO_ESCAPES:
            out.append(_GO_ESCAPES[nxt])
            i += 2
        elif nxt in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        else:
            raise TemplateError(f"{where}: unsupported escape \\{nxt} in the string {literal}")
    return "".join(out)


def _tokens(action: str, where: str) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    pos = 0
    stripped = action.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if not match or match.lastgroup is None:
            break
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "other":
            raise TemplateError(
                f"{where}: {text!r} in {{{{{action}}}}} is not supported here",
                hint='use `{{ .KEY }}`, `{{ index . "KEY" }}`, string literals and pipelines through '
                + ", ".join(sorted(FUNCTIONS)),
            )
        result.append((kind, text))
        pos = match.end()
    return result


def _operand(kind: str, text: str, where: str) -> Field | Literal | None:
    if kind == "field":
        return Field(text[1:])
    if kind == "string":
        return Literal(_unquote(text, where))
    if kind == "raw":
        return Literal(text[1:-1])
    return None


def _command(tokens: list[tuple[str, str]], action: str, where: str) -> Command:
    if not tokens:
        raise TemplateError(f"{where}: an empty command in {{{{{action}}}}}")
    kind, text = tokens[0]
    if kind == "ident" and text == "index":
        if len(tokens) != 3 or tokens[1][0] != "dot" or tokens[2][0] not in ("string", "raw"):
            raise TemplateError(f'{where}: only `index . "KEY"` is supported, found {{{{{action}}}}}')
        key = _operand(*tokens[2], where)
        assert isinstance(key, Literal)  # noqa: S101 - guaranteed by the check above
        return Field(key.value)
    if kind == "ident":
        if text not in FUNCTIONS:
            raise TemplateError(
                f"{where}: the function or keyword {text!r} in {{{{{action}}}}} is not supported here",
                hint="supported functions: " + ", ".join(sorted(FUNCTIONS)),
            )
        args: list[Field | Literal] = []
        for arg_kind, arg_text in tokens[1:]:
            operand = _operand(arg_kind, arg_text, where)
            if operand is None:
                raise TemplateError(f"{where}: {arg_text!r} cannot be an argument of {text} in {{{{{action}}}}}")
            args.append(operand)
        return Call(text, tuple(args))
    operand = _operand(kind, text, where)
    if operand is None or len(tokens) > 1:
        raise TemplateError(f"{where}: cannot evaluate {{{{{action}}}}}: expected a key like .KEY or a function")
    return operand


def parse(text: str, where: str) -> list[Node]:
    """Split a template into text and pipelines. `where` names the template in errors."""
    nodes: list[Node] = []
    pos = 0
    trim_next = False
    for match in _ACTION.finditer(text):
        literal = text[pos : match.start()]
        if trim_next:
            literal = literal.lstrip(" \t\r\n")
        if match.group(1):
            literal = literal.rstrip(" \t\r\n")
        nodes.append(literal)
        trim_next = bool(match.group(3))
        pos = match.end()
        action = match.group(2).strip()
        if action.startswith("/*") and action.endswith("*/"):
            continue
        tokens = _tokens(action, where)
        pipeline: list[Command] = []
        current: list[tuple[str, str]] = []
        for token in [*tokens, ("pipe", "|")]:
            if token[0] == "pipe":
                pipeline.append(_command(current, action, where))
                current = []
            else:
                current.append(token)
        nodes.append(tuple(pipeline))
    rest = text[pos:]
    nodes.append(rest.lstrip(" \t\r\n") if trim_next else rest)
    if "{{" in rest or any(isinstance(n, str) and "{{" in n for n in nodes):
        raise TemplateError(f"{where}: an unclosed {{{{ in the template")
    return [n for n in nodes if n != ""]


def referenced_keys(nodes: list[Node]) -> set[str]:
    keys: set[str] = set()
    for node in nodes:
        if isinstance(node, str):
            continue
        for command in node:
            if isinstance(command, Field):
                keys.add(command.key)
            elif isinstance(command, Call):
                keys.update(arg.key for arg in command.args if isinstance(arg, Field))
    return keys


def _value(operand: Field | Literal, data: Mapping[str, str], where: str) -> str:
    if isinstance(operand, Literal):
        return operand.value
    if operand.key not in data:
        raise TemplateError(
            f"{where}: the template refers to {operand.key}, which the ExternalSecret's data does not provide "
            f"(external-secrets fails with: map has no entry for key {operand.key!r})",
            hint=f"provide {operand.key} (keys given: {', '.join(sorted(data)) or 'none'})",
        )
    return data[operand.key]


def execute(nodes: list[Node], data: Mapping[str, str], where: str) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        piped: str | None = None
        for command in node:
            if isinstance(command, Call):
                arity, function = FUNCTIONS[command.function]
                args = [_value(arg, data, where) for arg in command.args]
                if piped is not None:
                    args.append(piped)
                if len(args) != arity:
                    raise TemplateError(
                        f"{where}: {command.function} takes {arity} argument(s), given {len(args)}",
                    )
                piped = function(*args)
            else:
                if piped is not None:
                    raise TemplateError(f"{where}: a pipeline can only pass its value on to a function")
                piped = _value(command, data, where)
        out.append(piped or "")
    return "".join(out)


def render(text: str, data: Mapping[str, str], where: str) -> str:
    return execute(parse(text, where), data, where)
