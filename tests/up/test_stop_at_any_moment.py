"""A stop at any moment of a start is quick and leaves nothing behind, in both engines: `ocw down` as the start begins,
while the init step clones, between it and OpenCode, while OpenCode starts, as it answers and just after never waits
out the grace period, and nothing of a killed `ocw up` outlives the next `ocw down` or `ocw up`. Where one start can
show two of these (the next `ocw up` is stopped as it answers; a foreground one just after), it does; the foreground
one also clones its source through this machine's proxy and CA settings."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from support.cli import CliResult, run_ocw, start_ocw, user_env
from support.connect_proxy import ConnectProxy
from support.git_http_server import GitHttpServer, make_self_signed_certificate
from support.image import workspace_image  # noqa: F401 - the session fixture
from support.local_workspace import WORKSPACE
from support.ports import free_port
from support.tokens import copilot_document, random_text
from up.helpers import REPO, make_source_repo, up_in_foreground, write_secrets

pytestmark = pytest.mark.timeout(300)

# `ocw down --timeout` in these tests: far longer than any stop may take, so a stop that waits for it shows.
GRACE = 30
QUICK = 10.0  # seconds: a stop, with podman's own start-up on a loaded machine, and no grace period in it


@pytest.fixture(params=["process", "container"])
def engine(request: pytest.FixtureRequest) -> str:
    if request.param == "container":
        request.getfixturevalue("workspace_image")
    return str(request.param)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    """The state dir of the workspace under test; whatever a failed test left running there is stopped (a container
    has its monitor, conmon, naming the state dir: a passed test, which asserted that nothing is left, needs no
    `ocw down` of its own)."""
    folder = tmp_path / "state"
    yield folder
    if folder.exists() and processes_using(folder):
        run_ocw("down", "flux", "--state-dir", str(folder), "--timeout", "0", env=user_env())


@contextlib.contextmanager
def stalled_git_server() -> Iterator[str]:
    """A clone URL whose server accepts the connection and never answers: the init step's clone hangs there."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/stalled.git"


def start_detached(state: Path, source: str, engine: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    args = ["up", "flux", "-d", "--engine", engine, "--source", source, "--port", str(free_port())]
    return start_ocw(*args, "--state-dir", str(state), env=env)


def wait_for(condition: object, what: str, timeout: float = 120, poll: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)


def containers_using(state: Path) -> list[str]:
    """Containers (running or not) with a mount from this state dir, whatever their names."""
    engine = "podman"
    env = {**os.environ, "CONTAINERS_CONF": str(REPO / "containers" / "podman" / "containers.conf")}
    ids = subprocess.run([engine, "ps", "-aq"], capture_output=True, text=True, env=env, check=False).stdout.split()
    if not ids:
        return []
    inspected = subprocess.run([engine, "inspect", *ids], capture_output=True, text=True, env=env, check=False)
    found = []
    for container in json.loads(inspected.stdout or "[]"):
        sources = [str(mount.get("Source", "")) for mount in container.get("Mounts") or []]
        if any(source.startswith(str(state)) for source in sources):
            found.append(str(container["Name"]))
    return found


def processes_using(state: Path) -> list[int]:
    """Processes whose environment or command line names this state dir (the init step, OpenCode, a `podman run`
    client, a container's monitor)."""
    found = []
    for process in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if any(str(state).encode() in (process / part).read_bytes() for part in ("environ", "cmdline")):
                found.append(int(process.name))
    return found


def _command_lines(pids: list[int]) -> dict[int, str]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return found


def init_running(state: Path, engine: str) -> bool:
    """The init step runs: in a container, its first line has reached the log (so the container exists, without a
    podman query at every poll); as processes, ocw has opened the step's log."""
    log = state / WORKSPACE / "logs" / "init.log"
    if engine == "container":
        return _says(log, "init: ")
    return log.exists()


def down(state: Path) -> tuple[CliResult, float]:
    started = time.monotonic()
    result = run_ocw(
        "down", "flux", "--state-dir", str(state), "--timeout", str(GRACE), timeout=GRACE * 3, env=user_env()
    )
    return result, time.monotonic() - started


def assert_nothing_left(state: Path, engine: str) -> None:
    assert not (state / WORKSPACE / "state.json").exists()
    assert not (state / WORKSPACE / "run").exists()
    try:
        wait_for(lambda: not processes_using(state), "the workspace's processes to end", timeout=15)
    except AssertionError as missed:
        raise AssertionError(f"{missed}; still running: {_command_lines(processes_using(state))}") from None
    if engine == "container":
        assert containers_using(state) == []


def assert_down_interrupts_the_start(
    state: Path, source: str, engine: str, moment: Callable[[], bool], what: str, *, env: dict[str, str] | None = None
) -> None:
    """Start `ocw up -d`, run `ocw down` once `moment()` holds: the start ends as interrupted (130), quickly, and
    leaves nothing behind."""
    up = start_detached(state, source, engine, env)
    try:
        wait_for(lambda: moment() or up.poll() is not None, what)
        assert up.poll() is None, up.communicate()[0]
        result, seconds = down(state)
        output, _ = up.communicate(timeout=60)
    finally:
        up.kill()
    assert result.code == 0, result.stdout + result.stderr
    assert seconds < QUICK, result.stdout
    assert up.returncode == 130, output  # interrupted: it did not start
    assert_nothing_left(state, engine)


def _says(path: Path, text: str) -> bool:
    with contextlib.suppress(OSError):
        return text in path.read_text()
    return False


def test_down_as_the_start_begins(tmp_path: Path, state: Path, engine: str) -> None:
    source = str(make_source_repo(tmp_path / "source"))
    lock = state / WORKSPACE / "lock"  # names the starting ocw from its first step (the volumes) on
    assert_down_interrupts_the_start(state, source, engine, lambda: _says(lock, "starting"), "the start to begin")


def test_down_while_the_init_step_clones(state: Path, engine: str) -> None:
    with stalled_git_server() as url:
        assert_down_interrupts_the_start(state, url, engine, lambda: init_running(state, engine), "the init step")


def test_down_while_opencode_starts(tmp_path: Path, state: Path, engine: str) -> None:
    source = str(make_source_repo(tmp_path / "source"))
    record = state / WORKSPACE / "state.json"  # written once OpenCode is spawned, before it answers
    assert_down_interrupts_the_start(state, source, engine, record.exists, "OpenCode's start")


def test_down_between_the_init_step_and_opencode(tmp_path: Path, state: Path, engine: str) -> None:
    source = str(make_source_repo(tmp_path / "source"))
    log = state / WORKSPACE / "logs" / "init.log"  # the step's last line: "done in ..."
    assert_down_interrupts_the_start(state, source, engine, lambda: _says(log, "done in"), "the init step's end")


# podman, but its `run` of OpenCode's container waits to make the container until `podman rm` has been called (which
# `ocw up` does once interrupted): what podman's own start-up does on a loaded machine, made certain.
LATE_PODMAN = """#!/bin/sh
marks='{marks}'
if [ "$1 $2 $3" = "run --rm --name" ]; then
  case $4 in *-app)
    touch "$marks/app-run"
    trap : TERM  # as podman while it makes a container: a SIGTERM does not end it
    waited=0
    while [ ! -e "$marks/removed" ] && [ $waited -lt 1200 ]; do sleep 0.1; waited=$((waited + 1)); done ;;
  esac
elif [ "$1" = rm ] && [ -e "$marks/app-run" ]; then
  '{podman}' "$@"
  status=$?
  touch "$marks/removed"
  exit $status
fi
exec '{podman}' "$@"
"""


@pytest.mark.usefixtures("workspace_image")
def test_down_before_podman_has_made_the_container(tmp_path: Path, state: Path) -> None:
    """`ocw down` while the `podman run` of OpenCode has not yet made its container: the interrupted start's removal
    finds no container, then podman makes and runs it. The start still ends at once and leaves no container (it
    removes again until the `podman run` has exited). Containers only: a process start has no such client."""
    marks, bin_dir = tmp_path / "marks", tmp_path / "bin"
    marks.mkdir()
    bin_dir.mkdir()
    podman = shutil.which("podman")
    assert podman is not None
    (bin_dir / "podman").write_text(LATE_PODMAN.format(marks=marks, podman=podman))
    (bin_dir / "podman").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    source = str(make_source_repo(tmp_path / "source"))
    app_run = marks / "app-run"
    assert_down_interrupts_the_start(state, source, "container", app_run.exists, "podman run of OpenCode", env=env)
    assert (marks / "removed").exists()  # the removal came first, and podman made the container after it


def assert_a_quick_stop(state: Path, engine: str) -> None:
    """`ocw down` of the workspace that answers: stopped with SIGTERM, quickly, nothing left."""
    result, seconds = down(state)
    assert result.code == 0, result.stdout + result.stderr
    assert "stopped (pid" in result.stdout and "ignored SIGTERM" not in result.stdout, result.stdout
    assert seconds < QUICK, result.stdout
    assert_nothing_left(state, engine)


@pytest.mark.usefixtures("workspace_image")
def test_a_killed_up_leaves_no_init_container_behind(state: Path) -> None:
    with stalled_git_server() as url:
        up = start_detached(state, url, "container")
        try:
            wait_for(lambda: init_running(state, "container") or up.poll() is not None, "the init container")
            assert up.poll() is None, up.communicate()[0]
            up.send_signal(signal.SIGKILL)  # no chance to tidy up
            up.wait(timeout=30)
            # Each look is two podman commands: a few a second, not fifty.
            wait_for(lambda: not containers_using(state), "the init container to end with its ocw", 30, poll=0.25)
        finally:
            up.kill()
    result, _ = down(state)
    assert result.code == 0, result.stdout + result.stderr
    assert_nothing_left(state, "container")


def clone_running(state: Path, engine: str) -> bool:
    """The init step's `git clone` has started (in process mode, a git process of this state dir)."""
    if engine == "container":  # the step's line just before it runs `git clone` in the container
        return _says(state / WORKSPACE / "logs" / "init.log", "init: cloning ")
    for pid in processes_using(state):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"git"):
                return True
    return False


@pytest.mark.parametrize("then", ["down", "next-up"])
def test_nothing_of_a_killed_up_outlives_the_next_down_or_up(
    tmp_path: Path, state: Path, engine: str, then: str
) -> None:
    """`ocw up` killed while its init step clones: its leader goes with it, and what it started (git) is gone once
    `ocw down` or the next `ocw up` has run. The next `ocw up` is then stopped as it answers: `ocw down` at once."""
    with stalled_git_server() as url:  # stalls the clone until the end: a leftover git would still be running
        up = start_detached(state, url, engine)
        try:
            wait_for(lambda: clone_running(state, engine) or up.poll() is not None, "the init step's clone")
            assert up.poll() is None, up.communicate()[0]
            up.send_signal(signal.SIGKILL)  # no chance to tidy up
            up.wait(timeout=30)
        finally:
            up.kill()
        left = processes_using(state)
        if then == "down":
            result, seconds = down(state)
            assert result.code == 0, result.stdout + result.stderr
            assert seconds < QUICK, result.stdout
        else:
            source = str(make_source_repo(tmp_path / "source"))
            args = ["--engine", engine, "--source", source, "--port", str(free_port()), "--state-dir", str(state)]
            again = run_ocw("up", "flux", "-d", *args, timeout=240, env=user_env())
            assert again.code == 0, again.stdout + again.stderr
            assert [pid for pid in left if pid in processes_using(state)] == []
            assert_a_quick_stop(state, engine)
        assert_nothing_left(state, engine)


@pytest.mark.usefixtures("workspace_image")
def test_down_removes_a_container_left_by_an_earlier_run(tmp_path: Path, state: Path) -> None:
    """What an ocw that died before writing its record leaves: a running container, and nothing naming it. That ocw is
    killed as soon as its container runs (OpenCode need not answer first: what is left is the same)."""
    up = start_detached(state, str(make_source_repo(tmp_path / "source")), "container")
    record = state / WORKSPACE / "state.json"  # written once the container runs
    try:
        wait_for(lambda: record.exists() or up.poll() is not None, "OpenCode's container")
        assert up.poll() is None, up.communicate()[0]
        up.send_signal(signal.SIGKILL)  # no chance to tidy up
        up.wait(timeout=30)
    finally:
        up.kill()
    [app] = containers_using(state)
    record.unlink()  # as if ocw had died before writing it
    result, seconds = down(state)
    assert result.code == 0, result.stdout + result.stderr
    assert seconds < QUICK
    assert app not in containers_using(state)
    assert_nothing_left(state, "container")


PASSED_THROUGH = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture
def private_git_server(tmp_path: Path) -> Iterator[tuple[GitHttpServer, Path, str]]:
    """An HTTPS git server with its own throwaway CA, asking for a token: (server, its CA certificate, the token)."""
    tls = make_self_signed_certificate(tmp_path / "tls")
    root = tmp_path / "served"
    root.mkdir()
    source = make_source_repo(tmp_path / "source")
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(root / "repo.git")], check=True)
    token = random_text("ghp_")
    with GitHttpServer(root, token=token, tls=tls) as git_server:
        yield git_server, tls.certificate, token


def test_down_just_after_it_answers_stops_a_foreground_up_which_exits_0(
    tmp_path: Path, state: Path, engine: str, private_git_server: tuple[GitHttpServer, Path, str]
) -> None:
    """`ocw down` a second after the first answer (the moment of the answer itself is the next `ocw up` above), from
    another terminal than the foreground `ocw up`'s: the stop is `ocw down`'s own, whichever way the workspace was
    started (the record is alike), and the foreground `ocw up` ends with 0 and says why.

    The same start shows that this machine's proxy and CA settings reach the workspace in both engines: its source
    is a private HTTPS git server with its own CA, reached through an HTTPS proxy, and the init step clones it (a
    start of its own would prove nothing more: the clone is over before OpenCode starts). And its password has the
    16 characters OpenCode's start script accepts at least: the server answers with it (`ocw up` waits for that
    answer) and refuses a request without it (image/test_server_password.py has the refusals of shorter ones)."""
    git_server, ca_file, token = private_git_server
    password = random_text(length=16)
    secrets = write_secrets(tmp_path / "secrets.env", token, password, copilot_document(random_text("gho_")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCODE_", "XDG_")) and k not in PASSED_THROUGH}
    with ConnectProxy() as proxy:
        env |= {"GIT_SSL_CAINFO": str(ca_file), "HTTPS_PROXY": proxy.url, "https_proxy": proxy.url}
        args = ["flux", "--engine", engine, "--source", git_server.url("repo.git"), "--secrets", str(secrets)]
        port = free_port()
        with up_in_foreground(*args, "--port", str(port), "--state-dir", str(state), env=env) as up:
            anonymous = httpx.get(f"http://127.0.0.1:{port}/session", timeout=5).status_code
            time.sleep(1.0)  # the moment under test, not a wait for something
            result, seconds = down(state)
            output, _ = up.process.communicate(timeout=60)
        connects = proxy.requests()
    assert result.code == 0, result.stdout + result.stderr
    assert "stopped (pid" in result.stdout and "ignored SIGTERM" not in result.stdout, result.stdout
    assert seconds < QUICK, result.stdout
    assert up.process.returncode == 0, "".join(up.printed) + output
    assert anonymous == 401
    assert "opencode-flux was stopped by `ocw down`" in output and "Traceback" not in output, output
    assert_nothing_left(state, engine)
    clone = state / WORKSPACE / "volumes" / "home" / "git" / "k8s-cluster"  # the volume outlives the pod
    assert (clone / "README.md").read_text() == "workspace source\n"
    assert f"CONNECT {git_server.authority}" in connects
    assert git_server.requests(), "git never reached the server"
