"""`ocw`: the command-line entry point. Each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from ocw import __version__
from ocw.cli_options import output_format
from ocw.console import FORMATS, Format, emit_error
from ocw.errors import EXIT_CANNOT_RUN, EXIT_CLOSED_PIPE, EXIT_INTERRUPTED, OcwError
from ocw.interrupts import ctrl_c_raises_interrupted

# Each module exposes `register(subparsers)`, which adds its parser(s) and names with `runs` the function that
# does the work (ocw.cli_options).
COMMAND_MODULES: tuple[str, ...] = (
    "ocw.check.arguments",
    "ocw.schemas.arguments",
    "ocw.helm.arguments",
    "ocw.install.arguments",
    "ocw.up.arguments",
    "ocw.secrets.arguments",
    "ocw.verify.arguments",
    "ocw.completion",
)
# Which module registers each command: only that one is imported for a run (a quick `ocw check` matters in CI and
# editors); `ocw --help` and unknown commands load them all.
COMMAND_OWNERS: dict[str, str] = {
    "check": "ocw.check.arguments",
    "schemas": "ocw.schemas.arguments",
    "charts": "ocw.helm.arguments",
    "install": "ocw.install.arguments",
    "up": "ocw.up.arguments",
    "down": "ocw.up.arguments",
    "ps": "ocw.up.arguments",
    "secrets": "ocw.secrets.arguments",
    "verify": "ocw.verify.arguments",
    "completion": "ocw.completion",
}

Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error stated like every other error (one line, a `next:` hint, exit 2, a document
    under -o json|yaml)."""

    def error(self, message: str) -> NoReturn:
        raise OcwError(
            f"{message} (usage: {self.format_usage().strip().removeprefix('usage: ')})",
            hint=f"`{self.prog} --help` lists the options",
        )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = Parser(
        prog="ocw",
        description="Validate, run and verify OpenCode workspaces defined by the GitOps tree.",
        epilog="Exit codes: 0 success, 1 problems found, 2 could not run (bad input or missing tool), 130 interrupted, "
        "141 the reader of the output went away (e.g. `| head`).",
    )
    parser.add_argument("--version", action="version", version=f"ocw {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    owner = COMMAND_OWNERS.get(command or "")
    for module_name in (owner,) if owner else COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def handler_of(args: argparse.Namespace) -> Handler:
    """The function `runs` named for the command parsed, imported now."""
    module, _, function = str(args.handler).partition(":")
    handler: Handler = getattr(importlib.import_module(module), function)
    return handler


def _command_word(argv: Sequence[str]) -> str | None:
    return next((word for word in argv if not word.startswith("-")), None)


def _format_in(words: Sequence[str]) -> Format:
    """The output format asked for, read before parsing so that a usage error follows it too."""
    for index, word in enumerate(words):
        if word == "--json":
            return "json"
        value = word.split("=", 1)[1] if word.startswith(("--output=", "-o=")) else None
        if value is None and word.startswith("-o") and len(word) > 2:
            value = word[2:]
        if value is None and word in ("-o", "--output") and index + 1 < len(words):
            value = words[index + 1]
        if value in FORMATS:
            return value  # type: ignore[return-value]
    return "text"


def _stdout_gone() -> int:
    """The reader of stdout went away (`ocw ps --json | head`): no traceback, and nothing more written there
    (Python would otherwise complain again when it flushes stdout at exit)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_CLOSED_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = _command_word(words)
    fmt = _format_in(words)
    with ctrl_c_raises_interrupted():
        try:
            # Inside the try: a Ctrl-C while the command's modules load is an interruption too.
            args = build_parser(command).parse_args(words)
            fmt = output_format(args)
            code = handler_of(args)(args)
            sys.stdout.flush()
            return code
        except OcwError as exc:
            emit_error(command, exc, fmt)
            return exc.exit_code
        except UnicodeDecodeError as exc:
            # Every reader names its file (ocw.inputs); this is the net under one that does not.
            problem = OcwError(
                f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                hint="save the file as UTF-8, or pass the right file",
                exit_code=EXIT_CANNOT_RUN,
            )
            emit_error(command, problem, fmt)
            return problem.exit_code
        except BrokenPipeError:
            return _stdout_gone()
        except KeyboardInterrupt:
            print(f"ocw {command}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
