"""Suite-wide settings: Ctrl-C reaches the programs a test interrupts, and tests that share something run together.
(Here, beside pyproject.toml, rather than in tests/: tests/secrets imports its own conftest by that name.)

SIGINT: a suite started in the background of a non-interactive shell (`make test &` in a script) inherits SIGINT
ignored, and an ignored signal stays ignored across exec: `ocw up` would then never see the Ctrl-C a test sends it.
With Python's own handler installed here, every program a test starts gets SIGINT's default disposition, as it does
when started from a terminal.

Parallel workers (`make test` runs pytest-xdist with `--dist loadgroup`): tests are independent (each has its own
ports, state dir, container names and temporary folders) and go to whichever worker is free, except those that share
an expensive fixture, which run in one worker so that it starts once: a directory below whose tests share
package-scoped fixtures (a running workspace, a browser, a fake cluster), and a module that defines a module- or
class-scoped fixture. (xdist's own `xdist_group` marks are not used: with pytest 9.2 they no longer reach its
scheduler.)
Workers take the longest units first, by the seconds each took when tests/durations.json was last recorded
(`--store-durations`): xdist alone orders them by their number of tests, and a long single test handed out last would
hold up the end of the run.

Secret values: ocw remembers the secret values it reads for the life of its process, which is one command; a test that
calls ocw in-process is one command, so each test starts holding none.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import signal
from collections import defaultdict
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

from ocw import secret_values

ROOT = Path(__file__).resolve().parent
DURATIONS = ROOT / "tests" / "durations.json"
# Units shorter than this are left out of the file; they count as this long each.
SHORT_UNIT_SECONDS = 2.0

# Directories whose tests share package-scoped fixtures (one running workspace, one browser, one fake cluster), each
# with the fixtures that make a module one of them; none named: every module of the directory. A module that uses
# none of them (as a parameter of a test or fixture, or in `usefixtures`/`getfixturevalue`) starts what it needs itself
# and is scheduled as any other: a word such as a kubeconfig's "cluster" key does not make it one.
SHARED_BY_DIRECTORY: dict[str, tuple[str, ...]] = {
    "tests/agent": (),
    "tests/browser": (),
    "tests/verify": ("cluster", "servers"),
}
_SHARED_FIXTURE = re.compile(r"""scope\s*=\s*["'](module|class)["']""")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-durations",
        action="store_true",
        help=f"record the seconds each work unit took in {DURATIONS.relative_to(ROOT)} (the order workers take them)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def _opencode_config_once(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The installed OpenCode config folder that fresh workspace homes start from is made once per run
    (tests/support/opencode_home.py), in the folder this run's workers share."""
    from support.opencode_home import use_run_folder  # noqa: PLC0415 - tests/ is on sys.path once pytest configured
    from support.run_folder import run_folder  # noqa: PLC0415

    use_run_folder(run_folder(tmp_path_factory))


@pytest.fixture(autouse=True)
def _no_secret_value_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secret_values, "_HELD", set())


@functools.cache
def _defines_shared_fixture(module: str) -> bool:
    try:
        return _SHARED_FIXTURE.search((ROOT / module).read_text()) is not None
    except OSError:
        return False


@functools.cache
def _uses_fixture(module: str, names: tuple[str, ...]) -> bool:
    try:
        tree = ast.parse((ROOT / module).read_text())
    except (OSError, SyntaxError):
        return True
    return not _requested_fixtures(tree).isdisjoint(names)


def _requested_fixtures(tree: ast.Module) -> set[str]:
    """The fixture names a module asks for: its functions' parameters and the names it passes to
    `pytest.mark.usefixtures` or `request.getfixturevalue`."""
    requested: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            requested.update(a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"usefixtures", "getfixturevalue"}
        ):
            requested.update(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return requested


def work_unit(nodeid: str) -> str:
    """The tests that must run in one worker share this name; any other test is a unit of its own."""
    module = nodeid.split("::", 1)[0]
    for directory, fixtures in SHARED_BY_DIRECTORY.items():
        if module.startswith(directory + "/") and (not fixtures or _uses_fixture(module, fixtures)):
            return directory
    return module if _defines_shared_fixture(module) else nodeid


def recorded_durations() -> dict[str, float]:
    try:
        recorded = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        return {}
    return {str(unit): float(seconds) for unit, seconds in recorded.items()} if isinstance(recorded, dict) else {}


class SharedFixtureScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
    """xdist's scheduling by scope, with the scopes above, the longest (as last recorded) handed out first."""

    def __init__(self, config: pytest.Config, log: object | None = None) -> None:
        super().__init__(config, log)
        self._durations = recorded_durations()
        self._ordered = False

    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid)

    def _assign_work_unit(self, node: object) -> None:
        if not self._ordered:  # the queue is complete by the first assignment
            self._ordered = True
            units = sorted(self.workqueue.items(), key=lambda item: -self._cost(item[0], len(item[1])))
            self.workqueue.clear()
            self.workqueue.update(units)
        super()._assign_work_unit(node)

    def _cost(self, unit: str, tests: int) -> float:
        return self._durations.get(unit, SHORT_UNIT_SECONDS * tests)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling | None:
    if config.getoption("dist") != "loadgroup":
        return None
    return SharedFixtureScheduling(config, log)


class DurationRecorder:
    """Sums each work unit's setup, call and teardown seconds; writes them at the end of a run."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[work_unit(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        kept = {unit: round(s, 1) for unit, s in sorted(self.seconds.items()) if s >= SHORT_UNIT_SECONDS}
        DURATIONS.write_text(json.dumps(kept, indent=0) + "\n")


class OpenCodeConfigInstall:
    """A run of the whole suite makes the installed OpenCode config folder that fresh workspace homes start from
    (tests/support/opencode_home.py) in the background, in the folder this run's workers share."""

    def __init__(self, run_folder: Path) -> None:
        from support.opencode_home import start_install  # noqa: PLC0415 - tests/ is on sys.path once configured

        self.installer = start_install(run_folder)

    def pytest_sessionfinish(self) -> None:
        from support.opencode_home import stop_install  # noqa: PLC0415

        stop_install(self.installer)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    if config.getoption("store_durations"):
        config.pluginmanager.register(DurationRecorder(), "ocw-duration-recorder")
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:  # the whole suite, not a part of it
        # The tests' tmp_path_factory (pytest keeps it on the config): under xdist the parent of the workers' roots.
        run_folder = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        config.pluginmanager.register(OpenCodeConfigInstall(run_folder), "ocw-opencode-config")
