"""A write that fails part-way leaves the repository as it was: no new file, no temporary file, no new folder."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from ocw.errors import OcwError
from ocw.install.plan import FileChange
from ocw.install.writer import write


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A folder of its own: the test's temporary folder also holds its user cache."""
    folder = tmp_path / "repo"
    folder.mkdir()
    return folder


def test_a_failed_write_leaves_nothing_behind(repo: Path) -> None:
    (repo / "kubernetes").mkdir()
    (repo / "kubernetes" / "existing.yaml").write_text("mine\n")
    (repo / "blocker").write_text("a file where a folder would have to be\n")
    before = sorted(str(p.relative_to(repo)) for p in repo.rglob("*"))
    changes = [
        FileChange(PurePosixPath("kubernetes/existing.yaml"), b"mine\n", b"theirs\n"),
        FileChange(PurePosixPath("kubernetes/apps/new/ks.yaml"), None, b"new\n"),
        FileChange(PurePosixPath("blocker/inside/ks.yaml"), None, b"cannot be written\n"),
    ]

    with pytest.raises(OcwError, match="Nothing was written"):
        write(repo, changes)

    assert sorted(str(p.relative_to(repo)) for p in repo.rglob("*")) == before
    assert (repo / "kubernetes" / "existing.yaml").read_text() == "mine\n"


def test_a_write_replaces_every_file_and_keeps_an_updated_files_mode(repo: Path) -> None:
    existing = repo / "script.sh"
    existing.write_text("old\n")
    existing.chmod(0o750)
    write(
        repo,
        [
            FileChange(PurePosixPath("script.sh"), b"old\n", b"new\n"),
            FileChange(PurePosixPath("a/b/run.sh"), None, b"#!/bin/sh\n", executable=True),
        ],
    )
    assert existing.read_text() == "new\n"
    assert existing.stat().st_mode & 0o777 == 0o750
    assert (repo / "a/b/run.sh").stat().st_mode & 0o100
    assert sorted(p.name for p in repo.rglob("*")) == ["a", "b", "run.sh", "script.sh"]
