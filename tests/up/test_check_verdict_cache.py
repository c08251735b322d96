"""`ocw up` checks the workspace once per state of the tree: a restart with nothing changed takes the cached verdict,
and any change to the tree or the variable files checks again (and finds what the change broke)."""

from __future__ import annotations

from pathlib import Path

import pytest

from check.tree_copy import HELMRELEASE, copy_tree
from ocw.flux.artifact import repository_files
from ocw.up.check_gate import check_errors, verdict_key

WORKSPACE = "opencode-flux"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_an_unchanged_tree_is_checked_once_and_a_change_checks_again(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path / "repo")
    first, first_cached = check_errors(tree.root, [], WORKSPACE)
    again, again_cached = check_errors(tree.root, [], WORKSPACE)
    assert (first, first_cached) == ([], False)
    assert (again, again_cached) == ([], True)

    tree.replace(HELMRELEASE, "existingClaim: ${APP}", "existingClaim: ${APP}-data")  # a claim nobody makes
    broken, broken_cached = check_errors(tree.root, [], WORKSPACE)
    assert not broken_cached
    assert any("opencode-flux-data" in error.message for error in broken), broken


def test_another_variables_file_is_another_verdict(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path / "repo")
    variables = tmp_path / "vars.yaml"
    variables.write_text("SECRET_DOMAIN: example.org\n")
    assert check_errors(tree.root, [], WORKSPACE)[1] is False
    assert check_errors(tree.root, [variables], WORKSPACE)[1] is False
    assert check_errors(tree.root, [variables], WORKSPACE)[1] is True
    variables.write_text("SECRET_DOMAIN: example.net\n")
    assert check_errors(tree.root, [variables], WORKSPACE)[1] is False


def test_a_change_anywhere_in_the_repository_checks_again(tmp_path: Path) -> None:
    """Flux builds whichever folder a Kustomization names (flux bootstrap's own layout is clusters/<name>/ beside
    apps/ and infrastructure/), so a file outside kubernetes/ is as much an input as one inside."""
    tree = copy_tree(tmp_path / "repo")
    assert check_errors(tree.root, [], WORKSPACE)[1] is False
    assert check_errors(tree.root, [], WORKSPACE)[1] is True
    tree.write("docs/notes.md", "notes\n")
    assert check_errors(tree.root, [], WORKSPACE)[1] is False
    tree.write("infrastructure/configs/kustomization.yaml", "resources: []\n")
    assert check_errors(tree.root, [], WORKSPACE)[1] is False
    assert check_errors(tree.root, [], WORKSPACE)[1] is True


def test_the_files_the_tree_was_built_from_give_the_same_verdict_key(tmp_path: Path) -> None:
    """`ocw up` lists the repository once and hands the list to the check: the key is the one the check would list,
    and a file the list does not hold (written after it) still changes the key of the next start."""
    tree = copy_tree(tmp_path / "repo")
    files = repository_files(tree.root)
    assert verdict_key(tree.root, [], WORKSPACE, files) == verdict_key(tree.root, [], WORKSPACE)
    tree.write("docs/notes.md", "notes\n")
    assert verdict_key(tree.root, [], WORKSPACE, repository_files(tree.root)) != verdict_key(
        tree.root, [], WORKSPACE, files
    )
    assert verdict_key(tree.root, [], WORKSPACE, repository_files(tree.root)) == verdict_key(tree.root, [], WORKSPACE)
