"""Ctrl-C as ocw raises it: `Interrupted`, a KeyboardInterrupt of ocw's own.

Why not Python's own KeyboardInterrupt: CPython notes a KeyboardInterrupt that leaves code run by `exec()` from a
string (how `dataclasses` and `namedtuple` build their methods, e.g. while a module is imported) as "unhandled", and
that note outlives the exception. Even when ocw catches it and returns 130, the interpreter then ends the process with
SIGINT at exit, so the caller sees "killed by signal 2" (-2 from subprocess) instead of exit code 130. CPython only
notes the exact KeyboardInterrupt class, so a subclass, caught by every `except KeyboardInterrupt`, is never noted."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) while ocw runs."""


def _raise_interrupted(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise Interrupted


@contextlib.contextmanager
def ctrl_c_raises_interrupted() -> Iterator[None]:
    """SIGINT raises Interrupted inside the block. Left alone where SIGINT is not Python's default (ignored by the
    caller, or handled by a host program such as a test runner) and outside the main thread, where no handler can be
    set; restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
