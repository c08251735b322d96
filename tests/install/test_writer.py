"""A write that fails part-way leaves the repository as it was: no new file, no temporary file, no new folder."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from ocw.errors import OcwError
from ocw.install.plan import FileChange
from ocw.install.writer import write


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "kubernetes").mkdir()
    (tmp_path / "kubernetes" / "existing.yaml").write_text("mine\n")
    (tmp_path / "blocker").write_text("a file where a folder would have to be\n")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    changes = [
        FileChange(PurePosixPath("kubernetes/existing.yaml"), b"mine\n", b"theirs\n"),
        FileChange(PurePosixPath("kubernetes/apps/new/ks.yaml"), None, b"new\n"),
        FileChange(PurePosixPath("blocker/inside/ks.yaml"), None, b"cannot be written\n"),
    ]

    with pytest.raises(OcwError, match="Nothing was written"):
        write(tmp_path, changes)

    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "kubernetes" / "existing.yaml").read_text() == "mine\n"


def test_a_write_replaces_every_file_and_keeps_an_updated_files_mode(tmp_path: Path) -> None:
    existing = tmp_path / "script.sh"
    existing.write_text("old\n")
    existing.chmod(0o750)
    write(
        tmp_path,
        [
            FileChange(PurePosixPath("script.sh"), b"old\n", b"new\n"),
            FileChange(PurePosixPath("a/b/run.sh"), None, b"#!/bin/sh\n", executable=True),
        ],
    )
    assert existing.read_text() == "new\n"
    assert existing.stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "a/b/run.sh").stat().st_mode & 0o100
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "run.sh", "script.sh"]
