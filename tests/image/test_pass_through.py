"""Process mode offers OpenCode only the commands the image has. That this machine's proxy and CA settings reach the
workspace in both modes (`ocw up --source` of an HTTPS git server with its own throwaway CA, reached through an HTTPS
proxy, clones in a container and as processes) is shown on a start that up/test_stop_at_any_moment.py makes anyway:
`ocw down` just after it answers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ocw.image.definition import image_commands
from ocw.up.toolbox import build_toolbox

pytestmark = pytest.mark.timeout(600)


def test_process_mode_path_holds_only_the_image_commands(tmp_path: Path) -> None:
    toolbox = build_toolbox(tmp_path / "bin")
    assert sorted(p.name for p in toolbox.folder.iterdir()) == sorted(toolbox.linked)
    assert set(toolbox.linked) | set(toolbox.missing) == set(image_commands())
    assert shutil.which("python3") is not None  # on this machine, but not in the image
    probe = subprocess.run(
        ["sh", "-c", "command -v git >/dev/null && echo git; command -v python3 || echo no-python3"],
        env={"PATH": str(toolbox.folder)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.stdout.split() == ["git", "no-python3"]
