"""`ocw check`: validate the GitOps tree offline, the way Flux, the API server and the controllers would see it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocw.check.report import CheckReport
    from ocw.check.run import run_check

__all__ = ["CheckReport", "run_check"]
_HOMES = {"CheckReport": "ocw.check.report", "run_check": "ocw.check.run"}


def __getattr__(name: str) -> Any:
    # Imported on first use: `ocw check --help` imports ocw.check.arguments, and with it this package, without them.
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
