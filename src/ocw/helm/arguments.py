"""What `ocw charts` accepts: its parsers and help, built on every `ocw charts` run, so it imports nothing of Helm
(command.py does the work)."""

from __future__ import annotations

import argparse
from typing import Any

from ocw.cli_options import add_output, add_repo, add_vars, runs


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "charts",
        help="fetch and list the Helm charts HelmReleases render with",
        description=(
            "ocw check and ocw up render HelmReleases with the charts vendored in ocw (app-template) and those in "
            "the user cache (~/.cache/ocw/charts). `pull` fetches every chart the repository's HelmReleases use, in "
            "the version they ask for, from their OCIRepository or HelmRepository URLs; `list` shows what is there."
        ),
        epilog="Exit codes: 0 every chart is available, 1 some could not be fetched, 2 could not run.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    pull_parser = actions.add_parser("pull", help="fetch the charts the repository's HelmReleases use")
    add_repo(pull_parser)
    add_vars(pull_parser)
    add_output(pull_parser, "the outcome per chart")
    runs(pull_parser, "ocw.helm.command:handle_pull")
    list_parser = actions.add_parser("list", help="the vendored and cached charts")
    add_output(list_parser, "the charts")
    runs(list_parser, "ocw.helm.command:handle_list")
