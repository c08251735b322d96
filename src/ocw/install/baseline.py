"""Whose errors are they: the errors `ocw check` finds after an install, split into those that were in the repository
before it (a cluster repository has its own) and those the install added. The "before" side is checked on a copy of
the repository with every written file as it was, so the user's repository is never touched for it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ocw.check.report import CheckReport
from ocw.findings import Finding
from ocw.install.plan import FileChange

FindingKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class Baseline:
    before: list[Finding]  # errors the repository had before the install
    added: list[Finding]  # errors the install brought

    def to_text(self) -> str:
        if not self.before and not self.added:
            return "the install added no error"
        lines = []
        if self.before:
            lines.append(f"{len(self.before)} error(s) were in the repository before this install (not its doing):")
            lines.extend(f"  [{f.rule}] {f.file}: {f.object}" for f in self.before)
        lines.append(
            f"the install added {len(self.added)} error(s): fix them before you commit"
            if self.added
            else "the install added no error"
        )
        return "\n".join(lines)


def errors_before(
    repo: Path, written: Sequence[FileChange], after: CheckReport, check: Callable[[Path], CheckReport]
) -> Baseline:
    with tempfile.TemporaryDirectory(prefix="ocw-install-before-") as folder:
        copy = Path(folder) / repo.name
        shutil.copytree(repo, copy, symlinks=True, ignore=shutil.ignore_patterns(".git"), copy_function=_Linker())
        for change in written:
            target = copy / change.path
            target.unlink()  # a link to the repository's file: its old content goes into a file of the copy's own
            if change.before is not None:
                target.write_bytes(change.before)
        before = check(copy)
        known = {_key(f, copy, repo) for f in before.errors}
    return Baseline(
        [f for f in after.errors if _key(f, repo, repo) in known],
        [f for f in after.errors if _key(f, repo, repo) not in known],
    )


class _Linker:
    """Copies a file as a hard link to it: the check only reads the copy, and a repository's files need not be written
    again for it. Where the temporary folder is on another file system than the repository, they are copied."""

    def __init__(self) -> None:
        self.linking = True

    def __call__(self, source: str, destination: str) -> str:
        if self.linking:
            try:
                os.link(source, destination)
                return destination
            except OSError:
                self.linking = False
        return str(shutil.copy2(source, destination))


def _key(finding: Finding, root: Path, repo: Path) -> FindingKey:
    # By rule, file and object: a message may count or name things (the folder checked) that the install changed.
    return (finding.rule, finding.file, finding.object, "")
