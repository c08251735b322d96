"""What `ocw up` and `ocw down` accept by default, in a module of its own: every `ocw` command defines its arguments
(arguments.py) on start-up, and the modules that act on these values load only for the command that runs."""

from __future__ import annotations

from typing import Final, Literal, get_args

# What `ocw up --engine` accepts: an engine (state.EngineKind), or "auto" to take the container engine when it works.
EngineRequest = Literal["auto", "container", "process"]
ENGINE_CHOICES: Final[tuple[EngineRequest, ...]] = get_args(EngineRequest)
DEFAULT_STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL for processes (no manifest grace applies)
