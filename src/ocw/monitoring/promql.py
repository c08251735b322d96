"""The parts of PromQL a check needs to read in an expression without evaluating it: label matchers
(`name="value"`, `=~`, `!=`, `!~`) and durations (`[2h]`, `offset 2h`, Prometheus's `1h30m` form)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_RANGE = re.compile(rf"\[\s*({_DURATION})\s*(?::\s*(?:{_DURATION})?\s*)?\]")
_OFFSET = re.compile(rf"\boffset\s+-?({_DURATION})")
_UNIT = re.compile(r"(\d+)(ms|[smhdwy])")
SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def __str__(self) -> str:
        return f'{self.label}{self.op}"{self.value}"'


def matchers(expr: str) -> list[Matcher]:
    """Every label matcher written in the expression, in order (string escapes undone)."""
    return [Matcher(m.group(1), m.group(2), _unescape(m.group(3))) for m in _MATCHER.finditer(expr)]


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def durations(expr: str) -> list[str]:
    """Every range (`[2h]`, a subquery's range) and `offset` duration written in the expression."""
    return [m.group(1) for m in _RANGE.finditer(expr)] + [m.group(1) for m in _OFFSET.finditer(expr)]


def seconds(duration: str) -> float:
    """`1h30m` -> 5400.0. ValueError for anything that is not a Prometheus duration."""
    if not re.fullmatch(_DURATION, duration):
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(int(count) * SECONDS[unit] for count, unit in _UNIT.findall(duration))


def duration(seconds_: float) -> str:
    """The shortest Prometheus duration for a whole number of seconds: 7200 -> `2h`, 5400 -> `1h30m`."""
    rest = int(seconds_)
    parts: list[str] = []
    for unit in ("d", "h", "m", "s"):
        count, rest = divmod(rest, int(SECONDS[unit]))
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
