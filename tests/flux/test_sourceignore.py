"""What source-controller puts in a GitRepository's artifact: gitignore patterns as go-git reads them, from the
`.sourceignore` files (each below its own folder) and `spec.ignore`, over a default list."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from ocw.flux.sourceignore import ArtifactFilter, Pattern, read_patterns


def excluded(patterns: str, path: str, is_dir: bool = False) -> bool:
    return ArtifactFilter(tuple(read_patterns(patterns))).excludes(PurePosixPath(path), is_dir)


@pytest.mark.parametrize(
    ("patterns", "path", "expected"),
    [
        ("/*\n!/kubernetes\n", "kubernetes/apps/web/ks.yaml", False),  # anchored: a prefix, whatever lies below
        ("/*\n!/kubernetes\n", "docs/index.md", True),
        ("/*\n!/kubernetes\n", "README.md", True),
        ("*.md\n", "kubernetes/apps/README.md", True),  # a name matches at any depth
        ("build/\n", "build", False),  # dir-only: the file named build stays
        ("build/\n", "src/build/out.yaml", True),
        ("/kubernetes/**/*.txt\n", "kubernetes/apps/a/b/notes.txt", True),
        ("/kubernetes/**/*.txt\n", "kubernetes/apps/a/b/notes.yaml", False),
        ("# a comment\n\n", "anything", False),
        ("secret?.yaml\n", "a/secret1.yaml", True),
        ("[ab].yaml\n", "c/b.yaml", True),
        ("[!ab].yaml\n", "c/b.yaml", False),
    ],
)
def test_patterns_match_as_go_git_matches_them(patterns: str, path: str, expected: bool) -> None:
    assert excluded(patterns, path) is expected


def test_a_nested_sourceignore_applies_below_its_folder_only(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".sourceignore").write_text("*.yaml\n")
    files = [PurePosixPath(p) for p in ("a/.sourceignore", "a/x.yaml", "b/y.yaml")]
    flt = ArtifactFilter.for_repository(tmp_path, files)
    assert flt.select(files) == [PurePosixPath("a/.sourceignore"), PurePosixPath("b/y.yaml")]


def test_the_default_list_applies_only_without_any_pattern(tmp_path: Path) -> None:
    files = [PurePosixPath(p) for p in (".github/workflows/ci.yaml", "k/.sops.yaml", "k/a.yaml", ".git/config")]
    assert ArtifactFilter.for_repository(tmp_path, files).select(files) == [PurePosixPath("k/a.yaml")]
    # spec.ignore replaces the defaults (the VCS patterns stay).
    chosen = ArtifactFilter.for_repository(tmp_path, files, "/nothing\n").select(files)
    assert chosen == [
        PurePosixPath(".github/workflows/ci.yaml"),
        PurePosixPath("k/.sops.yaml"),
        PurePosixPath("k/a.yaml"),
    ]


def test_the_last_matching_pattern_decides() -> None:
    flt = ArtifactFilter((Pattern.parse("*.yaml"), Pattern.parse("!keep.yaml")))
    assert not flt.excludes("dir/keep.yaml")
    assert flt.excludes("dir/drop.yaml")
