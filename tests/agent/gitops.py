"""A copy of this checkout's GitOps tree with one workspace setting changed, as a user changes it: in the
workspace's `ks.yaml` postBuild.substitute."""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
KS_FILE = Path("kubernetes/apps/opencode/opencode-flux/ks.yaml")
PUSH_SWITCH = "WORKSPACE_GIT_PUSH"


def gitops_copy(target: Path, *, push: bool) -> Path:
    """`kubernetes/` and the example cluster variables, with the flux workspace's push switch set."""
    target.mkdir(parents=True)
    shutil.copytree(PROJECT / "kubernetes", target / "kubernetes")
    for name in ("cluster-vars.example.yaml", "pyproject.toml"):
        if (PROJECT / name).is_file():
            shutil.copy2(PROJECT / name, target / name)
    set_push(target, push=push)
    return target


def set_push(tree: Path, *, push: bool) -> None:
    """Switch the flux workspace's push in the tree's `ks.yaml`, as a user edits it."""
    ks_path = tree / KS_FILE
    ks_path.write_text(set_substitute(ks_path.read_text(), PUSH_SWITCH, "enabled" if push else "disabled"))


def set_substitute(ks_yaml: str, name: str, value: str) -> str:
    """Set one postBuild.substitute entry by editing the text, so comments and the schema line stay as they are."""
    lines = ks_yaml.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "substitute:"), None)
    if start is None or start + 1 >= len(lines):
        raise ValueError("the Kustomization has no postBuild.substitute block")
    indent = lines[start + 1][: len(lines[start + 1]) - len(lines[start + 1].lstrip())]
    entry = f"{indent}{name}: {value}"
    end = start + 1
    while end < len(lines) and lines[end].startswith(indent):
        if lines[end].strip().startswith(f"{name}:"):
            lines[end] = entry
            return "\n".join(lines) + "\n"
        end += 1
    lines.insert(end, entry)
    return "\n".join(lines) + "\n"
