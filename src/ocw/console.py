"""How every command speaks: its result on stdout as text, JSON or YAML; progress and warnings on stderr, prefixed
with the command; colour and ✓/✗ marks only where a person reads a terminal (never with NO_COLOR, never in a pipe
or a file, so scripts and tests see plain text); an error as a JSON or YAML document when the output is data.

The API is small on purpose (commands import it, so keep it stable): `Format`/`FORMATS`, `emit`, `emit_error`,
`Progress`, `paint`, `mark`, `is_terminal`."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, Final, Literal, TextIO, get_args

from ocw.errors import OcwError

Format = Literal["text", "json", "yaml"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)

Colour = Literal["red", "green", "yellow", "bold", "dim"]
_SGR: Final[dict[Colour, str]] = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2"}
# A step that took at least this long says how long when it ends; shorter ones stay one line.
SLOW_STEP_SECONDS: Final = 1.0


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether a person reads this stream on a terminal that wants colour: a TTY, NO_COLOR unset (any value, even
    empty, turns colour off: no-color.org says "present and not empty"; ocw reads presence), TERM not `dumb`."""
    stream = sys.stdout if stream is None else stream
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def paint(text: str, colour: Colour, stream: TextIO | None = None) -> str:
    """`text` in `colour` on a terminal; unchanged anywhere else."""
    return f"\033[{_SGR[colour]}m{text}\033[0m" if is_terminal(stream) else text


def mark(ok: bool | None, stream: TextIO | None = None) -> str:
    """A green ✓ (ok), red ✗ (failed) or yellow ! (None: a warning or a skip) and a space, on a terminal; "" elsewhere,
    so that a line read by a script starts with its word (`ok`, `FAILED`, ...)."""
    if not is_terminal(stream):
        return ""
    if ok is None:
        return paint("!", "yellow", stream) + " "
    return paint("✓", "green", stream) + " " if ok else paint("✗", "red", stream) + " "


def _dump(document: Any, fmt: Format) -> str:
    if fmt == "yaml":
        import yaml  # noqa: PLC0415 - only for -o yaml: every command imports this module, few print YAML

        return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True).rstrip("\n")
    return json.dumps(document, indent=2, ensure_ascii=False)


def emit(document: Any, text: str | Iterable[str], fmt: Format, *, stream: TextIO | None = None) -> None:
    """The command's result: `document` as JSON or YAML, else `text` (a string or its lines)."""
    stream = sys.stdout if stream is None else stream
    body = (text if isinstance(text, str) else "\n".join(text)) if fmt == "text" else _dump(document, fmt)
    print(body, file=stream, flush=True)


def error_document(command: str | None, error: OcwError) -> dict[str, Any]:
    return {
        "error": {
            "command": command,
            "message": error.message,
            "hint": error.hint,
            "exit_code": error.exit_code,
        }
    }


def emit_error(command: str | None, error: OcwError, fmt: Format) -> None:
    """An error the user can act on: one line (and its `next:` hint) on stderr; under `-o json|yaml` also the same as
    a document on stdout, where the script reading the output looks."""
    print(f"ocw {command}: error: {error}", file=sys.stderr, flush=True)
    if fmt != "text":
        print(_dump(error_document(command, error), fmt), flush=True)


class Progress:
    """Progress of a command on stderr, one line a step: `ocw <command>: <message>`. `step()` also says how long a
    slow step took when it ends, so a long pause is never silent."""

    def __init__(self, command: str, *, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.command = command
        self._stream = stream
        self.quiet = quiet

    @property
    def stream(self) -> TextIO:
        return sys.stderr if self._stream is None else self._stream

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"ocw {self.command}: {message}", file=self.stream, flush=True)

    def warn(self, message: str) -> None:
        """Warnings are shown even when quiet: they are about the result, not the way there."""
        print(f"ocw {self.command}: {paint('warning', 'yellow', self.stream)}: {message}", file=self.stream, flush=True)

    @contextlib.contextmanager
    def step(self, message: str) -> Iterator[None]:
        self(message)
        started = time.monotonic()
        yield
        elapsed = time.monotonic() - started
        if elapsed >= SLOW_STEP_SECONDS:
            self(f"{message}: done in {elapsed:.1f} s")
