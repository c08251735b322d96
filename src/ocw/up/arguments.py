"""What `ocw up`, `ocw down` and `ocw ps` accept: their parsers and help, built on every run of them, so it imports
nothing of starting or stopping a workspace (command.py does the work)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ocw.cli_options import STATE_DIR_HELP, add_output, add_repo, add_state_dir, add_stop_timeout, runs
from ocw.up.defaults import DEFAULT_STOP_GRACE, ENGINE_CHOICES
from ocw.up.ports import ANY_PORT, LOCAL_LISTEN, port_argument


def _common(parser: argparse.ArgumentParser) -> None:
    add_repo(parser)
    add_state_dir(parser, f"{STATE_DIR_HELP}; down and ps look in every repository's unless --repo is given")


STOP_TIMEOUT_DEFAULT = (
    f"the manifests' terminationGracePeriodSeconds in a container, {DEFAULT_STOP_GRACE:g} as processes"
)


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up",
        help="run a workspace on this machine from its manifests",
        description="Run the workspace's init step, then OpenCode, as the HelmRelease defines them, with the pod's "
        "volumes as folders under the state dir.",
    )
    up.add_argument("workspace", metavar="WORKSPACE", help="app name (opencode-flux) or short name (flux)")
    up.add_argument("--source", help="clone this URL or local path instead of the manifest's repository")
    up.add_argument("--secrets", type=Path, help="KEY=value file keyed by the workspace's Doppler variable names")
    up.add_argument(
        "--port",
        type=port_argument,
        help=f"local port (default: the manifest's port; {ANY_PORT}: any free port, printed once it answers)",
    )
    up.add_argument(
        "--listen",
        default=LOCAL_LISTEN,
        help=f"address bound where the manifest says 0.0.0.0 (default {LOCAL_LISTEN})",
    )
    up.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        default="auto",
        help="container: the workspace image with podman, as the pod runs; process: OpenCode and git of this "
        "machine, with only the image's commands on PATH; auto (default): container when podman works and the "
        "image is built (make image), else process with a note why",
    )
    up.add_argument("-d", "--detach", action="store_true", help="return once the workspace answers; stop with down")
    up.add_argument("--vars", type=Path, action="append", default=[], help="cluster variables file (repeatable)")
    up.add_argument("--show-password", action="store_true", help="print the server password")
    up.add_argument("--skip-check", action="store_true", help="start even if `ocw check` finds errors (listed)")
    up.add_argument(
        "--timings", action="store_true", help="print the time each step of the start took (always kept in the logs)"
    )
    add_stop_timeout(up, STOP_TIMEOUT_DEFAULT)
    _common(up)
    runs(up, "ocw.up.start:run_up")

    down = subparsers.add_parser("down", help="stop a workspace started with ocw up")
    down.add_argument("workspace", metavar="WORKSPACE", nargs="?", help="app name (opencode-flux) or short name (flux)")
    down.add_argument("--all", action="store_true", help="stop every workspace ocw up started (see ocw ps)")
    add_stop_timeout(down, STOP_TIMEOUT_DEFAULT)
    _common(down)
    runs(down, "ocw.up.command:run_down")

    ps = subparsers.add_parser("ps", help="list the workspaces ocw up started and whether they run")
    add_output(ps, "the list")
    _common(ps)
    runs(ps, "ocw.up.command:run_ps")
