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
from ocw.image.definition import image_commands
from ocw.up.pod import DEFAULT_PATH


@dataclass(frozen=True)
class Toolbox:
    folder: Path
    linked: tuple[str, ...]
    missing: tuple[str, ...]  # in the image, not on this machine: absent locally too (a note says so)


def _host_program(name: str, host_path: str) -> Path | None:
    if name == "opencode":
        return toolchain.opencode()
    found = shutil.which(name, path=host_path)
    return Path(found).resolve() if found else None


def build_toolbox(folder: Path, host_path: str | None = None) -> Toolbox:
    """(Re)create `folder` with one link per image command; returns what was linked and what is missing."""
    search = host_path if host_path is not None else os.environ.get("PATH") or DEFAULT_PATH
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    linked: list[str] = []
    missing: list[str] = []
    for name in image_commands():
        program = _host_program(name, search)
        if program is None:
            missing.append(name)
            continue
        (folder / name).symlink_to(program)
        linked.append(name)
    return Toolbox(folder, tuple(linked), tuple(missing))
