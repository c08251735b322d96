"""Process mode's PATH: a folder of links to exactly the commands the workspace image provides.

The list is the image definition's own (containers/opencode-workspace/commands, which the image build checks), so a
tool the image lacks is missing locally too, and nothing else of this machine's PATH reaches OpenCode or the init
step. `opencode` links to the project's pinned install; every other command to this machine's program of that name.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ocw import toolchain
from ocw.image.definition import definition_dir, image_commands
from ocw.up.pod import DEFAULT_PATH


@dataclass(frozen=True)
class Toolbox:
    folder: Path
    linked: tuple[str, ...]
    missing: tuple[str, ...]  # in the image, not on this machine: absent locally too (a note says so)
    note: str = ""  # why the toolbox could not follow the image (no image definition beside this ocw)


def _host_program(name: str, host_path: str) -> Path | None:
    if name == "opencode":
        return toolchain.opencode()
    found = shutil.which(name, path=host_path)
    return Path(found).resolve() if found else None


def process_path(folder: Path) -> str:
    """Process mode's PATH: the toolbox alone; an installed ocw without the image definition (no checkout) adds this
    machine's PATH after it."""
    if definition_dir().is_dir():
        return str(folder)
    return f"{folder}{os.pathsep}{os.environ.get('PATH') or DEFAULT_PATH}"


def build_toolbox(folder: Path, host_path: str | None = None) -> Toolbox:
    """(Re)create `folder` with one link per image command; returns what was linked and what is missing."""
    search = host_path if host_path is not None else os.environ.get("PATH") or DEFAULT_PATH
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if not definition_dir().is_dir():
        (folder / "opencode").symlink_to(toolchain.opencode())
        note = f"no workspace image definition at {definition_dir()}: process mode also uses this machine's PATH"
        return Toolbox(folder, ("opencode",), (), note)
    commands = image_commands()
    linked: list[str] = []
    missing: list[str] = []
    for name in commands:
        program = _host_program(name, search)
        if program is None:
            missing.append(name)
            continue
        (folder / name).symlink_to(program)
        linked.append(name)
    return Toolbox(folder, tuple(linked), tuple(missing))
