"""What a built workspace and `ocw check`'s verdict on it depend on, as one digest: every file of the repository
(Flux may build any folder of it, not only kubernetes/), the variable files given, this ocw (code, schemas, vendored
charts), the charts `ocw charts pull` cached, the pinned tools that build and render, and whether sops can decrypt
here (a tree's encrypted variables are substituted, or left as placeholders). A file counts by its path, size and
modification time, what `make` trusts, without being read. `ocw up` computes it once per start for both of its
caches (check_gate.py, built_workspaces.py)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from ocw import __version__
from ocw.flux.artifact import repository_files
from ocw.flux.sops_decrypt import age_key_available
from ocw.paths import PACKAGE_DIR, tools_dir, user_cache_dir

FORMAT = 3


def _files(root: Path) -> Iterable[str]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in ("__pycache__", ".git"))
        for name in sorted(files):
            yield f"{folder}/{name}"


def _fingerprint(path: str) -> str:
    """Paths are text here: a start fingerprints thousands of files, and pathlib would parse each path again."""
    try:
        info = os.stat(path)  # noqa: PTH116 - text paths, see above
    except OSError:
        return f"{path}\0missing\n"
    return f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n"


def inputs_digest(repo: Path, var_files: Sequence[Path], files: Sequence[PurePosixPath] | None = None) -> str:
    """The digest of everything above; `files` are the repository's files (repository_files), listed here unless
    given. The Python implementation counts too: the built workspace is kept as a pickle."""
    listed = repository_files(repo) if files is None else files
    inputs = [
        *(f"{repo}/{relative}" for relative in listed),
        *(str(p.resolve()) for p in var_files),
        *_files(PACKAGE_DIR),
        *_files(user_cache_dir() / "charts"),
        *_files(tools_dir() / "bin"),
    ]
    decrypts = shutil.which("sops") is not None and age_key_available()
    header = f"{FORMAT}\0{__version__}\0{sys.implementation.cache_tag}\0{decrypts}\0{repo.resolve()}\n"
    digest = hashlib.sha256(header.encode())
    digest.update("".join(_fingerprint(path) for path in inputs).encode())
    return digest.hexdigest()
