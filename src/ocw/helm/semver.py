"""Chart versions and version constraints as Helm and Flux read them (the Masterminds semver rules): `4.4.0`,
`v1.7.1`, `4.x`, `>= 6.0.0`, `~1.2`, `^0.3`, `1.2 - 1.4`, several joined by `,` or spaces (all must hold) or `||`
(any may). A prerelease version satisfies only a constraint that names a prerelease."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(
    r"^v?(0|[1-9]\d*|[xX*])(?:\.(0|[1-9]\d*|[xX*]))?(?:\.(0|[1-9]\d*|[xX*]))?"
    r"(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_TERM = re.compile(r"^(!=|>=|<=|=>|=<|~>|=|>|<|~|\^)?\s*(\S+)$")
_WILDCARDS = frozenset({"x", "X", "*"})


class VersionError(ValueError):
    """Text that is not a version or a constraint."""


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.match(text.strip())
        if match is None or any(part in _WILDCARDS for part in match.groups()[:3] if part):
            raise VersionError(f"{text!r} is not a version (MAJOR.MINOR.PATCH)")
        major, minor, patch, pre = match.groups()
        return cls(int(major), int(minor or 0), int(patch or 0), tuple(pre.split(".")) if pre else ())

    def __str__(self) -> str:
        pre = "-" + ".".join(self.prerelease) if self.prerelease else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}"

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release sorts after its prereleases; numeric identifiers before alphanumeric ones.
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()


def parse_version(text: str) -> Version | None:
    try:
        return Version.parse(text)
    except VersionError:
        return None


@dataclass(frozen=True)
class _Bound:
    operator: str
    version: Version


def _partial(text: str) -> tuple[list[int], Version, bool]:
    """The numeric parts given (wildcards and missing parts stop the list), the version with zeros for them, and
    whether a prerelease was named."""
    match = _VERSION.match(text)
    if match is None:
        raise VersionError(f"{text!r} is not a version")
    parts: list[int] = []
    for group in match.groups()[:3]:
        if group is None or group in _WILDCARDS:
            break
        parts.append(int(group))
    pre = match.group(4)
    full = parts + [0] * (3 - len(parts))
    return parts, Version(full[0], full[1], full[2], tuple(pre.split(".")) if pre else ()), bool(pre)


def _next(parts: list[int], position: int) -> Version:
    """The first version past the range that fixes parts[:position + 1]."""
    bumped = [*parts[:position], parts[position] + 1] + [0] * (2 - position)
    return Version(bumped[0], bumped[1], bumped[2], ("0",))  # below every release of the next range


def _bounds(term: str) -> tuple[list[_Bound], bool]:
    match = _TERM.match(term)
    if match is None:
        raise VersionError(f"{term!r} is not a version constraint")
    operator, text = match.group(1) or "=", match.group(2)
    operator = {"=>": ">=", "=<": "<=", "~>": "~"}.get(operator, operator)
    parts, version, pre = _partial(text)
    if not parts:
        return [], pre  # `*`: anything
    if operator == "=" and len(parts) == 3:
        return [_Bound("=", version)], pre
    if operator in ("=", "~") or (operator == "^" and parts[0] == 0 and len(parts) > 1):
        # `1.2` and `1.2.x` mean 1.2.*; `~1.2.3` 1.2.*; `~1` 1.*; `^0.2.3` 0.2.*.
        fixed = min(len(parts) - 1, 1) if operator == "~" else len(parts) - 1
        if operator == "^":
            fixed = 1 if parts[1] > 0 or len(parts) == 2 else 2
        return [_Bound(">=", version), _Bound("<", _next(parts, fixed))], pre
    if operator == "^":
        return [_Bound(">=", version), _Bound("<", _next(parts, 0))], pre
    if operator == "!=":
        return [_Bound("!=", version)], pre
    if operator in (">", "<=") and len(parts) < 3:
        # `> 1.2` is past every 1.2.x; `<= 1.2` includes them all.
        return [_Bound(">=" if operator == ">" else "<", _next(parts, len(parts) - 1))], pre
    return [_Bound(operator, version)], pre


@dataclass(frozen=True)
class Constraint:
    text: str
    alternatives: tuple[tuple[tuple[_Bound, ...], bool], ...]  # OR of (AND of bounds, names a prerelease)

    @classmethod
    def parse(cls, text: str) -> Constraint:
        alternatives = []
        for alternative in (text.strip() or "*").split("||"):
            normalised = re.sub(r"(!=|>=|<=|=>|=<|~>|[=><~^])\s+", r"\1", alternative.strip())
            hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", normalised)
            terms = [f">={hyphen.group(1)}", f"<={hyphen.group(2)}"] if hyphen else re.split(r"[\s,]+", normalised)
            bounds: list[_Bound] = []
            prerelease = False
            for term in filter(None, terms):
                found, pre = _bounds(term)
                bounds.extend(found)
                prerelease = prerelease or pre
            alternatives.append((tuple(bounds), prerelease))
        return cls(text, tuple(alternatives))

    def allows(self, version: Version) -> bool:
        return any(_holds(bounds, prerelease, version) for bounds, prerelease in self.alternatives)

    @property
    def exact(self) -> Version | None:
        """The one version the constraint names, when it names exactly one."""
        if len(self.alternatives) == 1:
            bounds, _ = self.alternatives[0]
            if len(bounds) == 1 and bounds[0].operator == "=":
                return bounds[0].version
        return None

    def newest(self, versions: list[Version]) -> Version | None:
        allowed = [v for v in versions if self.allows(v)]
        return max(allowed) if allowed else None


def _holds(bounds: tuple[_Bound, ...], prerelease: bool, version: Version) -> bool:
    if version.prerelease and not prerelease:
        return False
    checks = {
        "=": lambda v: version == v,
        "!=": lambda v: version != v,
        ">": lambda v: version > v,
        "<": lambda v: version < v,
        ">=": lambda v: version >= v,
        "<=": lambda v: version <= v,
    }
    return all(checks[bound.operator](bound.version) for bound in bounds)
