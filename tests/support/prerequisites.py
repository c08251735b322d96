"""The one policy for a test whose tool is missing: in CI (`CI=true`) the test fails, loudly, because CI installs
every prerequisite (`make test` runs `make test-prerequisites`) and a silent skip there would hide a broken setup;
anywhere else it is skipped with the reason and the command that installs the tool.

Tests call `require_command` (a program on PATH) or `require_path` (a file `make setup` puts in the checkout).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

_TRUE = {"1", "true", "yes"}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in _TRUE


def missing(reason: str, install: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason}; CI must provide it: {install}", pytrace=False)
    pytest.skip(f"{reason} (install it with {install}; in CI this is a failure)")


def require_command(name: str, *, package: str, purpose: str) -> Path:
    """The program's path, else fail (CI) or skip. `package` is the Debian package listed in the Makefile's
    TEST_SYSTEM_PACKAGES (or SYSTEM_PACKAGES)."""
    found = shutil.which(name)
    if found is None:
        missing(f"{name} is not on PATH; {purpose}", f"`make test-prerequisites` (Debian package {package})")
    return Path(found)


def require_path(path: Path, *, what: str, install: str = "`make setup`") -> Path:
    if not path.exists():
        missing(f"{what} was expected at {path}", install)
    return path
