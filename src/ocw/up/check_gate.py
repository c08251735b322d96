"""`ocw up` starts only a workspace that `ocw check` passes. The check's verdict depends only on the tree, the variable
files and this ocw (its code, vendored schemas and charts), so it is kept in the user cache under a key of all three
(inputs.py): a restart with nothing changed skips the check and never loads its modules, and any change to them
checks again."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ocw.paths import replace_whole, user_cache_dir
from ocw.up.inputs import inputs_digest

# A schema the check could not obtain (offline, no --schemas) is a gap in checking, not a fault of the tree: `make up`
# must work on a machine with no network.
UNCHECKABLE_RULES = frozenset({"schema-missing"})
CACHE_FORMAT = 3


@dataclass(frozen=True)
class CheckError:
    file: str
    message: str


def verdict_cache_dir() -> Path:
    return user_cache_dir() / "up-checks"


def verdict_key(
    repo: Path,
    var_files: Sequence[Path],
    workspace: str,
    files: Sequence[PurePosixPath] | None = None,
    inputs: str | None = None,
) -> str:
    """The verdict's key: the workspace's name and everything the tree depends on (`inputs`, inputs.py's digest,
    computed here from `files` unless given)."""
    digest = inputs if inputs is not None else inputs_digest(repo, var_files, files)
    return hashlib.sha256(f"{CACHE_FORMAT}\0{workspace}\0{digest}".encode()).hexdigest()


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
    repo: Path,
    var_files: Sequence[Path],
    workspace: str,
    files: Sequence[PurePosixPath] | None = None,
    inputs: str | None = None,
) -> tuple[list[CheckError], bool]:
    """`ocw check`'s errors about the workspace's Kustomization (and the files it shares), and whether they came from
    the cache. `files` are the repository's files the workspace was built from (repository_files) and `inputs` their
    digest (inputs.py), each computed here unless given."""
    path = verdict_cache_dir() / f"{verdict_key(repo, var_files, workspace, files, inputs)}.json"
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
