"""Where a locally run workspace keeps its things, and how other commands find a running one.

Layout under the state dir (default: one per repository in the user's state dir, `~/.local/state/ocw/workspaces/
<repo>-<hash of its path>/`, never inside the repository; it and each workspace folder mode 0700, owned by the user
running ocw), one folder per workspace, and `repository`, the path of the repository they come from:

    <state>/<workspace>/
      volumes/<identifier>/   persistentVolumeClaim and emptyDir volumes (emptyDir is emptied at every start)
      run/<identifier>/       configMap and secret volumes, written at start, removed at stop (mode 0700)
      logs/init.log           the init container's output
      logs/opencode.log       the OpenCode container's output
      logs/timings.json       the time each step of the last start took
      password                the server password (mode 0600); never printed
      state.json              what is running: pid and start time of OpenCode, URL, username (no secret)

`local_endpoint()` is the stable entry point for other commands (e.g. `ocw verify --local`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shlex
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ocw.errors import OcwError
from ocw.paths import user_state_dir

STATE_FILE = "state.json"
PASSWORD_FILE = "password"  # noqa: S105 - a file name
REPOSITORY_FILE = "repository"  # in a state dir: the repository its workspaces come from


def repositories_dir() -> Path:
    """The user state dir's folder of default state dirs, one per repository."""
    return user_state_dir() / "workspaces"


def default_state_dir(repo: Path) -> Path:
    """The state dir of a repository's workspaces: in the user's state dir, never in the repository (it holds the
    server password and, while a workspace runs, its git token), named after the repository's folder and keyed by its
    full path."""
    repo = repo.resolve()
    tag = hashlib.sha256(str(repo).encode()).hexdigest()[:8]
    return repositories_dir() / f"{repo.name}-{tag}"


def all_state_dirs() -> list[Path]:
    """Every repository's default state dir on this machine: how `ocw ps` and `ocw down` work from any folder."""
    folder = repositories_dir()
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def remember_repository(state_dir: Path, repo: Path) -> None:
    (state_dir / REPOSITORY_FILE).write_text(f"{repo.resolve()}\n")


def state_dir_repository(state_dir: Path) -> str | None:
    try:
        return (state_dir / REPOSITORY_FILE).read_text().strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class WorkspaceDirs:
    """The folders of one workspace under the state dir."""

    root: Path

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def init_log(self) -> Path:
        return self.logs / "init.log"

    @property
    def opencode_log(self) -> Path:
        return self.logs / "opencode.log"

    @property
    def timings_file(self) -> Path:
        """Where the last start went, step by step (timings.py)."""
        return self.logs / "timings.json"

    @property
    def tools(self) -> Path:
        """Process mode's PATH: links to the workspace image's commands (toolbox.py)."""
        return self.root / "bin"

    @property
    def password_file(self) -> Path:
        return self.root / PASSWORD_FILE

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE

    def volume(self, identifier: str) -> Path:
        return self.volumes / identifier

    def generated(self, identifier: str) -> Path:
        return self.run / identifier


def workspace_dirs(state_dir: Path, workspace_name: str) -> WorkspaceDirs:
    return WorkspaceDirs(state_dir.resolve() / workspace_name)


# Where a workspace runs: this machine's programs as processes, or the workspace image with the container engine.
EngineKind = Literal["process", "container"]


@dataclass(frozen=True)
class RunRecord:
    """What `ocw up` records about a running OpenCode: enough to find, query and stop it. No secret."""

    workspace: str
    pid: int
    start_ticks: int  # /proc/<pid>/stat field 22: tells a reused pid from ours
    url: str
    username: str
    port: int
    host: str
    working_dir: str
    started_at: float
    detached: bool
    engine: EngineKind = "process"
    container: str = ""  # the container's name (container engine); pid is then its PID 1 (tini) on this machine
    grace: float = 0.0  # seconds between SIGTERM and SIGKILL the manifests give (terminationGracePeriodSeconds)
    project_url: str = ""  # the page that opens the working directory's project (empty in records of older ocw)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        data: dict[str, Any] = json.loads(text)
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def process_start_ticks(pid: int) -> int | None:
    """The kernel's start time of a process (clock ticks since boot), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited; only its parent has not collected it yet
        return None
    return int(fields[19])


def is_alive(record: RunRecord) -> bool:
    return process_start_ticks(record.pid) == record.start_ticks


def read_record(dirs: WorkspaceDirs) -> RunRecord | None:
    try:
        return RunRecord.from_json(dirs.state_file.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OcwError(
            f"the run record {dirs.state_file} is unreadable ({exc})",
            hint=f"stop any OpenCode still using {dirs.root} and delete {dirs.state_file}",
        ) from exc


def write_record(dirs: WorkspaceDirs, record: RunRecord) -> None:
    partial = dirs.state_file.with_suffix(".partial")
    partial.write_text(record.to_json())
    partial.replace(dirs.state_file)


def clear_record(dirs: WorkspaceDirs) -> None:
    with contextlib.suppress(FileNotFoundError):
        dirs.state_file.unlink()


def private_dir(path: Path) -> Path:
    """A folder only the caller can enter: created with mode 0700, or an existing one checked (a real directory the
    caller owns, not a link to one somewhere else) and made 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise OcwError(
            f"{path} is {'a symbolic link' if stat.S_ISLNK(info.st_mode) else 'not a directory'}: ocw keeps a "
            "workspace's password and volumes only in a directory of its own",
            hint="remove it, or pass another --state-dir",
        )
    if info.st_uid != os.geteuid():
        raise OcwError(
            f"{path} belongs to uid {info.st_uid}, not to you (uid {os.geteuid()}): another user could read or "
            "replace what ocw keeps there (the server password among it)",
            hint="pass a --state-dir of your own",
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)
    return path


def ensure_private(dirs: WorkspaceDirs) -> None:
    """The state dir and the workspace's folder in it, 0700 and the caller's."""
    private_dir(dirs.root.parent)
    private_dir(dirs.root)


def read_password_file(path: Path) -> str | None:
    """The password kept at `path`, or None when there is none. Opened without following a link and without waiting on
    a FIFO; anything but a regular file the caller owns is refused (it could be someone else's file, or a link into
    one, that ocw would hand to the server)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        what = "a symbolic link" if exc.errno == errno.ELOOP else f"unreadable ({exc.strerror})"
        raise OcwError(
            f"the password file {path} is {what}: ocw reads only a regular file of its own there",
            hint=f"remove {path}; `ocw up` writes a new one",
        ) from exc
    with os.fdopen(fd) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            problem = "not a regular file" if not stat.S_ISREG(info.st_mode) else f"owned by uid {info.st_uid}"
            raise OcwError(
                f"the password file {path} is {problem}: ocw reads only a regular file of its own there",
                hint=f"remove {path}; `ocw up` writes a new one",
            )
        return handle.read()


def write_password(dirs: WorkspaceDirs, password: str) -> None:
    """Write the password with mode 0600 from the first byte (never briefly readable by others)."""
    ensure_private(dirs)
    partial = dirs.password_file.with_suffix(".partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password)
    partial.replace(dirs.password_file)


def read_password(dirs: WorkspaceDirs) -> str:
    password = read_password_file(dirs.password_file)
    if password is None:
        raise OcwError(
            f"no password file at {dirs.password_file}",
            hint="start the workspace with `ocw up`, which writes it",
        )
    return password


@dataclass(frozen=True)
class LocalEndpoint:
    """A workspace running on this machine. The password stays in its file until asked for."""

    workspace: str
    url: str
    username: str
    pid: int
    port: int
    working_dir: str
    password_file: Path
    record: RunRecord

    @property
    def project_url(self) -> str:
        return self.record.project_url

    @property
    def running(self) -> bool:
        return is_alive(self.record)

    def password(self) -> str:
        password = read_password_file(self.password_file)
        if password is None:
            raise OcwError(f"no password file at {self.password_file}", hint="start the workspace with `ocw up`")
        return password


def local_endpoint(state_dir: Path, workspace_name: str, repo: Path | None = None) -> LocalEndpoint:
    """The running local workspace `workspace_name` (full app name, e.g. `opencode-flux`) of `repo` under
    `state_dir`.

    Raises OcwError when it was never started there or is no longer running; its hint starts it from any folder.
    """
    dirs = workspace_dirs(state_dir, workspace_name)
    record = read_record(dirs)
    if record is None or not is_alive(record):
        in_repo = "" if repo is None else f" --repo {shlex.quote(str(repo))}"
        where = f"{dirs.root}" + ("" if record is None else f" (its OpenCode, pid {record.pid}, has exited)")
        raise OcwError(
            f"workspace {workspace_name} is not running locally under {where}",
            hint=f"start it with `ocw up {workspace_name}{in_repo} --state-dir {shlex.quote(str(state_dir))}`",
        )
    return LocalEndpoint(
        workspace=record.workspace,
        url=record.url,
        username=record.username,
        pid=record.pid,
        port=record.port,
        working_dir=record.working_dir,
        password_file=dirs.password_file,
        record=record,
    )


def known_workspaces(state_dir: Path) -> list[str]:
    """Workspaces that have a folder under the state dir (running or not)."""
    if not state_dir.is_dir():
        return []
    return sorted(p.name for p in state_dir.iterdir() if p.is_dir() and (p / "volumes").is_dir())
