"""What `ocw install` accepts: its parser and help, built on every `ocw install` run, so it imports nothing of the
install or the check that ends it (command.py does the work)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ocw.cli_options import add_output, add_repo, add_vars, runs


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "install",
        help="write the workspaces into the cluster repository, then check it",
        description=(
            "Write the project's GitOps tree into a cluster repository: the workspace apps, the component, the "
            "certificate and the Gateway listener patch, plus one entry each in the host apps' kustomization.yaml "
            "(comments and order kept). A file that exists with other content is left alone and shown unless "
            "--force. The settings in a workspace's ks.yaml (image tag, volume size, ...) are yours: install never "
            "reverts one. A second run changes nothing. With --workspace, also add a workspace. Ends with ocw check, "
            "which tells the errors that were in the repository before from those the install added, and with the "
            "numbered next steps."
        ),
        epilog="Exit codes: 0 installed (or unchanged) and the install added no check error (errors that were there "
        "before are listed as such), 1 the result has errors the install added, 2 could not run or refused (nothing "
        "written), 130 interrupted.",
    )
    add_repo(parser)
    parser.add_argument("--dry-run", action="store_true", help="print the changes as a unified diff, write nothing")
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite files whose content differs from the project's (your ks.yaml settings are kept)",
    )
    add_output(parser, "the outcome")
    group = parser.add_argument_group("adding a workspace")
    group.add_argument("--workspace", metavar="NAME", help="the new workspace: `docs` or `opencode-docs`")
    group.add_argument("--repository", metavar="URL", help="its https:// clone URL (no credentials)")
    group.add_argument(
        "--dir",
        metavar="PATH",
        help="absolute path of the clone (default: the repository's name beside the other workspaces' clones)",
    )
    group.add_argument("--host", metavar="LABEL", help="hostname label: LABEL.opencode.<domain> (default: from NAME)")
    group.add_argument(
        "--secret-prefix", metavar="PREFIX", help="Doppler variable prefix (default: OPENCODE_<LABEL upper-case>)"
    )
    checking = parser.add_argument_group("the final ocw check")
    add_vars(checking)
    checking.add_argument("--schemas", type=Path, metavar="DIR", help="JSON schemas directory (as ocw check)")
    runs(parser, "ocw.install.command:handle")
