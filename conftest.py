"""Suite-wide settings: Ctrl-C reaches the programs a test interrupts, and tests that share something run together.
(Here, beside pyproject.toml, rather than in tests/: tests/secrets imports its own conftest by that name.)

SIGINT: a suite started in the background of a non-interactive shell (`make test &` in a script) inherits SIGINT
ignored, and an ignored signal stays ignored across exec: `ocw up` would then never see the Ctrl-C a test sends it.
With Python's own handler installed here, every program a test starts gets SIGINT's default disposition, as it does
when started from a terminal.

Parallel workers (`make test` runs pytest-xdist with `--dist loadgroup`): tests are independent (each has its own
ports, state dir, container names and temporary folders), except those that share an expensive session or module
fixture (a running workspace, a browser): those run in one worker, so that the fixture starts once. A directory or
module opts in by name below; `pytest.mark.xdist_group` on a test does the same.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent / "tests"

# Directories whose tests share session fixtures (one running workspace, one browser, one fake cluster).
SHARED_BY_DIRECTORY = ("agent", "browser", "verify")


def _restore_ctrl_c() -> None:
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_configure(config: pytest.Config) -> None:
    _restore_ctrl_c()


def _group(item: pytest.Item) -> str | None:
    path = Path(str(item.path)).resolve()
    if not path.is_relative_to(TESTS):
        return None
    relative = path.relative_to(TESTS)
    if relative.parts[0] in SHARED_BY_DIRECTORY:
        return relative.parts[0]
    definitions = getattr(item, "_fixtureinfo", None)
    if definitions is None:
        return None
    for fixturedefs in definitions.name2fixturedefs.values():
        if any(fixturedef.scope in ("module", "class") for fixturedef in fixturedefs):
            return str(relative)  # the module's fixture starts once, in one worker
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is None and (group := _group(item)) is not None:
            item.add_marker(pytest.mark.xdist_group(group))
