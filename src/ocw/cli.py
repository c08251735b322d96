"""`ocw`: the command-line entry point. Each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from ocw import __version__
from ocw.errors import EXIT_INTERRUPTED, OcwError
from ocw.interrupts import ctrl_c_raises_interrupted

# Each module exposes `register(subparsers)`, which adds its parser(s) and sets `handler` to a
# function taking the parsed namespace and returning an exit code.
COMMAND_MODULES: tuple[str, ...] = (
    "ocw.check.command",
    "ocw.schemas.command",
    "ocw.helm.command",
    "ocw.install.command",
    "ocw.up.command",
    "ocw.secrets.command",
    "ocw.verify.command",
)
# Which module registers each command: only that one is imported for a run (a quick `ocw check` matters in CI and
# editors); `ocw --help` and unknown commands load them all.
COMMAND_OWNERS: dict[str, str] = {
    "check": "ocw.check.command",
    "schemas": "ocw.schemas.command",
    "charts": "ocw.helm.command",
    "install": "ocw.install.command",
    "up": "ocw.up.command",
    "down": "ocw.up.command",
    "ps": "ocw.up.command",
    "secrets": "ocw.secrets.command",
    "verify": "ocw.verify.command",
}

Handler = Callable[[argparse.Namespace], int]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocw",
        description="Validate, run and verify OpenCode workspaces defined by the GitOps tree.",
        epilog="Exit codes: 0 success, 1 problems found, 2 could not run (bad input or missing tool), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"ocw {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    owner = COMMAND_OWNERS.get(command or "")
    for module_name in (owner,) if owner else COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = _command_word(words)
    with ctrl_c_raises_interrupted():
        try:
            # Inside the try: a Ctrl-C while the command's modules load is an interruption too.
            args = build_parser(command).parse_args(words)
            handler: Handler = args.handler
            return handler(args)
        except OcwError as exc:
            print(f"ocw {command}: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print(f"ocw {command}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
