"""Where things live: the project checkout, its pinned tools, the user's caches."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"


def checkout() -> Path | None:
    """The opencode-workspaces checkout this ocw runs from (an editable install); None for an ocw installed as a tool,
    which never looks anything up in the current directory (a folder's tools/ or containers/ is not ocw's)."""
    candidate = PACKAGE_DIR.parent.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "kubernetes").is_dir():
        return candidate
    return None


def project_root() -> Path:
    """The checkout, for what only runs from one (the benchmarks)."""
    home = checkout()
    if home is None:
        raise RuntimeError(f"{PACKAGE_DIR} is not in an opencode-workspaces checkout")
    return home


def in_checkout(name: str) -> Path:
    """The checkout's folder `name`; for an installed ocw a path in the package that does not exist, so what the
    checkout would hold is absent (never taken from the current directory)."""
    home = checkout()
    return home / name if home is not None else PACKAGE_DIR / "no-checkout" / name


def tools_dir() -> Path:
    """The pinned tools `make setup` installs: $OCW_TOOLS_DIR, else the checkout's tools/ (an installed ocw takes
    every tool from PATH)."""
    return Path(os.environ.get("OCW_TOOLS_DIR") or in_checkout("tools"))


def source_digest(names: Iterable[str], salt: str = "") -> str:
    """A digest of ocw's own source files `names` (relative to the package): what a cache keyed by it holds was made
    by this very code. A file that cannot be read (an install of bytecode only) makes a digest no other run has."""
    digest = hashlib.sha256(salt.encode())
    for name in names:
        try:
            digest.update((PACKAGE_DIR / name).read_bytes())
        except OSError:
            digest.update(os.urandom(16))
    return digest.hexdigest()


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


def replace_whole(path: Path, content: str | bytes) -> None:
    """Put `content` at `path` whole: written under a temporary name beside it, then renamed over it, so that another
    ocw process reading or filling the same cache sees the old file or the new one, never a part. The folder must
    exist."""
    descriptor, name = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    partial = Path(name)
    try:
        with os.fdopen(descriptor, "wb" if isinstance(content, bytes) else "w") as handle:
            handle.write(content)
        partial.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
