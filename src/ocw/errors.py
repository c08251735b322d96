"""The one exception type every command raises for a problem the user can act on."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found problems (findings, failed checks)
EXIT_CANNOT_RUN = 2  # bad input, a missing tool, an unreachable service: nothing was checked or changed
EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, as a shell reports a program whose reader closed the pipe


class OcwError(Exception):
    """A problem stated for a person: what was expected, what was found, what to do next."""

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = EXIT_CANNOT_RUN) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  next: {self.hint}"
