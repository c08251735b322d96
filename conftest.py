"""Suite-wide settings: Ctrl-C reaches the programs a test interrupts, and tests that share something run together.
(Here, beside pyproject.toml, rather than in tests/: tests/secrets imports its own conftest by that name.)

SIGINT: a suite started in the background of a non-interactive shell (`make test &` in a script) inherits SIGINT
ignored, and an ignored signal stays ignored across exec: `ocw up` would then never see the Ctrl-C a test sends it.
With Python's own handler installed here, every program a test starts gets SIGINT's default disposition, as it does
when started from a terminal.

Parallel workers (`make test` runs pytest-xdist with `--dist loadgroup`): tests are independent (each has its own
ports, state dir, container names and temporary folders) and go to whichever worker is free, except those that share
an expensive fixture, which run in one worker so that it starts once: a directory below whose tests share session
fixtures (a running workspace, a browser, a fake cluster), and a module that defines a module- or class-scoped
fixture. (xdist's own `xdist_group` marks are not used: with pytest 9.2 they no longer reach its scheduler.)

Secret values: ocw remembers the secret values it reads for the life of its process, which is one command; a test that
calls ocw in-process is one command, so each test starts holding none.
"""

from __future__ import annotations

import functools
import re
import signal
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

from ocw import secret_values

ROOT = Path(__file__).resolve().parent

# Directories whose tests share session fixtures: one running workspace, one browser, one fake cluster.
SHARED_BY_DIRECTORY = ("tests/agent", "tests/browser", "tests/verify")
_SHARED_FIXTURE = re.compile(r"""scope\s*=\s*["'](module|class)["']""")


def pytest_configure(config: pytest.Config) -> None:
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _no_secret_value_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secret_values, "_HELD", set())


@functools.cache
def _defines_shared_fixture(module: str) -> bool:
    try:
        return _SHARED_FIXTURE.search((ROOT / module).read_text()) is not None
    except OSError:
        return False


def work_unit(nodeid: str) -> str:
    """The tests that must run in one worker share this name; any other test is a unit of its own."""
    module = nodeid.split("::", 1)[0]
    for directory in SHARED_BY_DIRECTORY:
        if module.startswith(directory + "/"):
            return directory
    return module if _defines_shared_fixture(module) else nodeid


class SharedFixtureScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
    """xdist's scheduling by scope, with the scopes above (larger units are handed out first)."""

    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling | None:
    if config.getoption("dist") != "loadgroup":
        return None
    return SharedFixtureScheduling(config, log)
