"""The secret values this process holds in memory (a Secret given to --vars, a file sops decrypted): whatever would
persist output, the render cache above all, asks `held` first, so that no such value is ever written to disk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

# Shorter values (a port, `true`) say nothing about a secret and would match everywhere.
MIN_LENGTH: Final = 6
_HELD: set[str] = set()


def remember(values: Iterable[str]) -> None:
    _HELD.update(value for value in values if len(value) >= MIN_LENGTH)


def held() -> bool:
    """Whether this process holds any secret value. A render can carry one in a derived form (`${VAR/./-}`, base64,
    a template's output) that no search would find, so a run holding one caches no render at all."""
    return bool(_HELD)
