"""Where things live: the project checkout, its pinned tools, the user's caches."""

from __future__ import annotations

import os
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
