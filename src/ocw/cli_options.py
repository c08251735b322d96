"""The options every command spells the same way, with one default each: `--repo`, `-o/--output` (and `--json`),
`--vars`, `--workspace`, `--state-dir`, the Doppler project and config, the stop timeout. Older spellings stay as
aliases.

A command adds what it takes with `add_*` and reads it back with the matching function (`repo_path`,
`output_format`, ...): never `args.repo` directly, so that the default is worked out in one place. `runs` names the
function that does a command's work."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Final

from ocw.console import FORMATS, Format
from ocw.errors import OcwError

REPO_ENV: Final = "OCW_REPO"
REPO_HELP: Final = (
    f"the cluster repository (a GitOps checkout with a kubernetes/ folder; default: ${REPO_ENV}, else the folder at "
    "or above the current directory that has kubernetes/)"
)


def runs(parser: argparse.ArgumentParser, handler: str) -> None:
    """The command `parser` parses runs `handler` ("module:function", taking the parsed arguments, returning the exit
    code), imported only then: every ocw run builds parsers (`ocw --help` and completion all of them), and a parser
    that imported its command's work would load the check pipeline, HTTP clients and more for a `--help`."""
    parser.set_defaults(handler=handler)


def add_repo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=None, metavar="DIR", help=REPO_HELP)


def find_repo(start: Path) -> Path | None:
    """The folder at or above `start` that holds a kubernetes/ folder, as git finds its work tree."""
    start = start.resolve()
    return next((folder for folder in (start, *start.parents) if (folder / "kubernetes").is_dir()), None)


def check_command(repo: Path, *only: str) -> str:
    """`ocw check` of `repo` as a hint prints it: a command that works from any folder."""
    return " ".join(["ocw check --repo", shlex.quote(str(repo)), *(f"--only {name}" for name in only)])


def repo_path(args: argparse.Namespace) -> Path:
    """The repository a command works on: --repo, else $OCW_REPO, else the one around the current directory."""
    given: Path | None = getattr(args, "repo", None)
    if given is not None:
        return given.expanduser().resolve()
    from_env = os.environ.get(REPO_ENV, "").strip()
    if from_env:
        return Path(from_env).expanduser().resolve()
    found = find_repo(Path.cwd())
    if found is None:
        raise OcwError(
            f"expected a GitOps repository (a folder with kubernetes/) at or above {Path.cwd()}, found none",
            hint=f"pass --repo DIR (your cluster repository, e.g. --repo ~/git/k8s-cluster) or set {REPO_ENV}",
        )
    return found


STATE_DIR_HELP: Final = (
    "where `ocw up` keeps local workspaces (default: one folder per repository in the user's state directory, "
    "$XDG_STATE_HOME/ocw or ~/.local/state/ocw)"
)


def add_state_dir(parser: argparse.ArgumentParser, help_text: str = STATE_DIR_HELP) -> None:
    parser.add_argument("--state-dir", type=Path, default=None, metavar="DIR", help=help_text)


def add_output(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default=None,
        help=f"print {what} as text (default), json or yaml; errors too, as a document with `error`",
    )
    group.add_argument("--json", dest="output", action="store_const", const="json", help="the same as -o json")


def output_format(args: argparse.Namespace) -> Format:
    chosen: Format | None = getattr(args, "output", None)
    return chosen or "text"


def add_vars(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, help_text: str = "cluster variables (as ocw check)"
) -> None:
    parser.add_argument("--vars", type=Path, action="append", default=[], metavar="FILE", help=help_text)


def add_workspaces(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        action="append",
        default=[],
        metavar="NAME",
        help="only this workspace (opencode-flux, or its short name flux); repeatable; default: every workspace in "
        "the repository",
    )


def add_doppler(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--doppler-project",
        "--project",
        dest="doppler_project",
        metavar="PROJECT",
        help="Doppler project (default: DOPPLER_PROJECT, `doppler setup`, else k3s-cluster, what the cluster's "
        "doppler-secrets store reads)",
    )
    parser.add_argument(
        "--doppler-config",
        "--config",
        dest="doppler_config",
        metavar="CONFIG",
        help="Doppler config (default: DOPPLER_CONFIG, `doppler setup`, else prd)",
    )


def add_stop_timeout(parser: argparse.ArgumentParser, default_text: str) -> None:
    parser.add_argument(
        "--stop-timeout",
        "--timeout",
        dest="stop_timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"seconds between SIGTERM and SIGKILL when stopping (default: {default_text})",
    )
