"""A restart with nothing changed skips building the workspace from the manifests: the built workspace is kept in the
user cache under the digest of everything it was built from (inputs.py) and the name it was asked by, so any change
to the repository, the variable files or this ocw builds it again. The cache is this user's own folder (mode 0700),
written only by this user's ocw, so its pickles are trusted as much as ocw's code; one that cannot be read is built
again. A workspace built while this process held a secret value (a file sops decrypted, a Secret given to --vars:
substituted variables may carry it) is never kept: nothing decrypted is written to disk. At most KEPT are kept, the
least recently used removed first."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from ocw import secret_values
from ocw.paths import replace_whole, user_cache_dir

if TYPE_CHECKING:
    from ocw.workspace import Workspace

KEPT = 16
SUFFIX = ".pickle"


def built_workspaces_dir() -> Path:
    return user_cache_dir() / "up-workspaces"


def _path(inputs: str, name: str) -> Path:
    key = hashlib.sha256(f"{name}\0{inputs}".encode()).hexdigest()
    return built_workspaces_dir() / f"{key}{SUFFIX}"


def cached_workspace(inputs: str, name: str) -> Workspace | None:
    """The workspace `name` as built from the inputs with this digest, or None when it was not kept."""
    from ocw.workspace import Workspace  # noqa: PLC0415 - loading the pickle imports it anyway

    path = _path(inputs, name)
    try:
        with path.open("rb") as handle:
            found = pickle.load(handle)  # noqa: S301 - the user's own cache folder, see above
    except Exception:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used
    return found if isinstance(found, Workspace) else None


def keep_workspace(inputs: str, name: str, workspace: Workspace) -> None:
    """Kept for the next start; a cache that cannot be written only costs the next start a build."""
    if secret_values.held():
        return
    folder = built_workspaces_dir()
    with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        replace_whole(_path(inputs, name), pickle.dumps(workspace, protocol=pickle.HIGHEST_PROTOCOL))
        kept = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in kept[KEPT:]:
            stale.unlink(missing_ok=True)
