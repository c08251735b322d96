"""What `ocw secrets` accepts: its parsers and help, built on every `ocw secrets` run, so it imports nothing of Doppler
or the workspaces (command.py does the work)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ocw.cli_options import add_doppler, add_output, add_repo, add_vars, add_workspaces, runs


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "secrets",
        help="keep the workspaces' secrets in Doppler (Copilot login, GitHub token, password)",
        description="Every workspace secret lives in Doppler, where the cluster's ExternalSecrets read it. "
        "These commands write and inspect it through the Doppler CLI (or the REST API with DOPPLER_TOKEN); "
        "no value is ever printed unless you ask for a generated password.",
    )
    commands = parser.add_subparsers(dest="secrets_command", metavar="SUBCOMMAND", required=True)

    seed = commands.add_parser(
        "seed-copilot",
        help="copy the local OpenCode Copilot login into each workspace's Doppler variable",
        description="Reads the github-copilot entry of OpenCode's auth.json and writes it to "
        "<PREFIX>_COPILOT_AUTH_JSON for each workspace; variables that already hold it are left alone.",
    )
    _common(seed)
    _auth_file(seed)
    seed.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    runs(seed, "ocw.secrets.command:run_seed_copilot")

    init = commands.add_parser(
        "init",
        help="create whichever workspace variables are missing",
        description="Creates each missing variable: a generated password, the GitHub token (hidden prompt, or "
        "stdin: one line per workspace in the order listed, or one line for all) and the Copilot login from "
        "auth.json. Existing values are kept unless --force is given.",
    )
    _common(init)
    _auth_file(init)
    init.add_argument("--force", action="store_true", help="replace existing values too")
    init.add_argument("--show-password", action="store_true", help="print each generated password once")
    init.add_argument("--dry-run", action="store_true", help="show what would be created; ask and write nothing")
    runs(init, "ocw.secrets.command:run_init")

    status = commands.add_parser(
        "status",
        help="report each workspace variable: present, length, last change, Copilot login validity",
        description="Lists each workspace's own variables and the shared ones its ExternalSecrets read (the "
        "cluster's VolSync repository and credentials). Exit code 1 when a variable is missing, a Copilot document "
        "is malformed or (with --online) GitHub rejects its token.",
    )
    _common(status)
    status.add_argument("--online", action="store_true", help="ask GitHub whether each Copilot token is still accepted")
    runs(status, "ocw.secrets.command:run_status")

    rotate_parser = commands.add_parser(
        "set",
        help="replace one secret of one workspace (the value from stdin or a hidden prompt)",
        description="Write a new value for one secret of one workspace, e.g. `ocw secrets set flux password`. The "
        "value is never an argument: it is read from a hidden prompt on a terminal, else from stdin (one line; for "
        "copilot-auth-json a whole auth.json, or --auth-file). It is held to the rules init applies (a password of "
        "at least 16 characters, a one-word token, a valid Copilot login). The ExternalSecret picks it up within "
        "5 minutes and Reloader restarts the pod.",
        epilog="Exit codes: 0 written (or already that value), 2 bad input or Doppler unreachable (nothing written).",
    )
    rotate_parser.add_argument("workspace_name", metavar="WORKSPACE", help="opencode-flux, or its short name flux")
    rotate_parser.add_argument(
        "key",
        metavar="KEY",
        help="password, github-pat or copilot-auth-json (or the workspace's Doppler variable name)",
    )
    rotate_parser.add_argument("--generate", action="store_true", help="password: a random one of 32 characters")
    rotate_parser.add_argument("--show-password", action="store_true", help="with --generate, print it once")
    _auth_file(rotate_parser)
    rotate_parser.add_argument("--dry-run", action="store_true", help="validate the value; write nothing")
    _common(rotate_parser, workspaces=False)
    runs(rotate_parser, "ocw.secrets.command:run_set")


def _common(parser: argparse.ArgumentParser, *, workspaces: bool = True) -> None:
    add_repo(parser)
    add_vars(parser)
    if workspaces:
        add_workspaces(parser)
    add_doppler(parser)
    add_output(parser)


def _auth_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--auth-file",
        type=Path,
        metavar="PATH",
        help="OpenCode's auth.json (default: $XDG_DATA_HOME/opencode/auth.json, i.e. ~/.local/share/opencode)",
    )
