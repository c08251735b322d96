"""Which OpenCode a Copilot login comes from, against the one the workspaces run.

Two OpenCode versions sharing one Copilot login can change auth.json's shape under each other (reported upstream),
so seeding from a laptop whose `opencode` differs from the workspaces' deserves a warning. The workspaces' version
is read from the manifests: the OpenCode container's `OPENCODE_VERSION` env value when one is set, otherwise its
image tag (the workspace image is tagged with the OpenCode version it installs). The laptop's is what
`opencode --version` on PATH prints.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from ocw.tool_versions import OPENCODE_PACKAGE, npm_package_version
from ocw.workspace import Workspace

VERSION_ENV = "OPENCODE_VERSION"


def workspace_version(ws: Workspace) -> str | None:
    app = ws.app_container
    pinned = next((v.value for v in app.env if v.name == VERSION_ENV and v.value), None)
    if pinned:
        return pinned.removeprefix("v")
    image = app.image.split("@", 1)[0]
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    # The workspace image's tag is the OpenCode version it installs, alone or with the build's commit: 1.18.33-abc1234.
    return tag.removeprefix("v").split("-", 1)[0] or None


def local_version() -> str | None:
    """`opencode --version` of the opencode on PATH; None when there is none or it does not answer."""
    program = shutil.which("opencode")
    if program is None:
        return None
    installed = npm_package_version(Path(program), OPENCODE_PACKAGE)  # spares starting OpenCode (a second of CPU)
    if installed is not None:
        return installed
    try:
        done = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = done.stdout.strip().split()
    return words[-1].removeprefix("v") if done.returncode == 0 and words else None


def mismatch_warnings(local: str | None, workspaces: Iterable[Workspace]) -> list[str]:
    if local is None:
        return [
            "cannot compare OpenCode versions: no `opencode` on PATH answers --version; a login made with another "
            "version than the workspaces run can change auth.json's shape under them"
        ]
    warnings = []
    for ws in workspaces:
        remote = workspace_version(ws)
        if remote is not None and remote != local:
            warnings.append(
                f"this machine's opencode is {local} but {ws.name} runs {remote}: two versions on one Copilot login "
                f"can change auth.json's shape under each other; log in with OpenCode {remote} (npx "
                f"opencode-ai@{remote} auth login) or move the workspace to {local}"
            )
    return warnings
