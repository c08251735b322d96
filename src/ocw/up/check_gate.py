"""`ocw up` starts only a workspace that `ocw check` passes. The check's verdict depends only on the tree, the variable
files and this ocw (its code, vendored schemas and charts), so it is kept in the user cache under a key of all three:
a restart with nothing changed skips the check and never loads its modules, and any change to them checks again."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ocw import __version__
from ocw.flux.artifact import repository_files
from ocw.paths import PACKAGE_DIR, replace_whole, tools_dir, user_cache_dir

# A schema the check could not obtain (offline, no --schemas) is a gap in checking, not a fault of the tree: `make up`
# must work on a machine with no network.
UNCHECKABLE_RULES = frozenset({"schema-missing"})
CACHE_FORMAT = 2


@dataclass(frozen=True)
class CheckError:
    file: str
    message: str


def verdict_cache_dir() -> Path:
    return user_cache_dir() / "up-checks"


def _files(root: Path) -> Iterable[str]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in ("__pycache__", ".git"))
        for name in sorted(files):
            yield f"{folder}/{name}"


def _fingerprint(path: str) -> str:
    """A file's path, size and modification time: what `make` trusts, without reading the file. Paths are text here:
    a start fingerprints thousands of files, and pathlib would parse each path again."""
    try:
        info = os.stat(path)  # noqa: PTH116 - text paths, see above
    except OSError:
        return f"{path}\0missing\n"
    return f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n"


def verdict_key(
    repo: Path, var_files: Sequence[Path], workspace: str, files: Sequence[PurePosixPath] | None = None
) -> str:
    """Everything the verdict depends on: every file of the repository (Flux may build any folder of it, not only
    kubernetes/; `files`, listed here unless given), the variable files given, this ocw (code, schemas, vendored
    charts), the charts `ocw charts pull` cached and the pinned tools that build and render."""
    listed = repository_files(repo) if files is None else files
    inputs = [
        *(f"{repo}/{relative}" for relative in listed),
        *(str(p.resolve()) for p in var_files),
        *_files(PACKAGE_DIR),
        *_files(user_cache_dir() / "charts"),
        *_files(tools_dir() / "bin"),
    ]
    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{__version__}\0{workspace}\0{repo.resolve()}\n".encode())
    digest.update("".join(_fingerprint(path) for path in inputs).encode())
    return digest.hexdigest()


def _read(path: Path) -> list[CheckError] | None:
    try:
        entries = json.loads(path.read_text())
        return [CheckError(str(entry["file"]), str(entry["message"])) for entry in entries]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, errors: list[CheckError]) -> None:
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs the next start a check
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        replace_whole(path, json.dumps([{"file": e.file, "message": e.message} for e in errors]))


def check_errors(
    repo: Path, var_files: Sequence[Path], workspace: str, files: Sequence[PurePosixPath] | None = None
) -> tuple[list[CheckError], bool]:
    """`ocw check`'s errors about the workspace's Kustomization (and the files it shares), and whether they came from
    the cache. `files` are the repository's files the workspace was built from (repository_files), listed here unless
    given."""
    path = verdict_cache_dir() / f"{verdict_key(repo, var_files, workspace, files)}.json"
    cached = _read(path)
    if cached is not None:
        return cached, True
    from ocw.check import run_check  # noqa: PLC0415 - only when the verdict is not cached: the check's modules load slowly

    report = run_check(repo, list(var_files), None, only=[workspace])
    errors = [
        CheckError(f.file, f.message)
        for f in report.for_kustomization(workspace)
        if str(f.severity) == "error" and f.rule not in UNCHECKABLE_RULES
    ]
    _write(path, errors)
    return errors, False
