"""The secret values this process holds in memory (a Secret given to --vars, a file sops decrypted): whatever would
persist output, the render cache above all, asks `appears_in` first, so that no such value is ever written to disk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

# Shorter values (a port, `true`) say nothing about a secret and would match everywhere.
MIN_LENGTH: Final = 6
_HELD: set[str] = set()


def remember(values: Iterable[str]) -> None:
    _HELD.update(value for value in values if len(value) >= MIN_LENGTH)


def appears_in(text: str) -> bool:
    return any(value in text for value in _HELD)
