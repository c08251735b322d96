"""Where things live: the project checkout, its pinned tools, the user's caches."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"


def project_root() -> Path:
    """The checkout this ocw was installed from (editable install), else the current directory."""
    candidate = PACKAGE_DIR.parent.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "kubernetes").is_dir():
        return candidate
    return Path.cwd()


def tools_dir() -> Path:
    return Path(os.environ.get("OCW_TOOLS_DIR", project_root() / "tools"))


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ocw"


def user_state_dir() -> Path:
    """Where ocw keeps what it runs on this machine: $XDG_STATE_HOME/ocw (default ~/.local/state/ocw); on a Mac
    ~/Library/Application Support/ocw."""
    if os.environ.get("XDG_STATE_HOME"):
        return Path(os.environ["XDG_STATE_HOME"]) / "ocw"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "ocw"
    return Path.home() / ".local" / "state" / "ocw"
