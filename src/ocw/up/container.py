"""A pod's container as a `podman run` of the workspace image: what the kubelet would give it, done with podman.

- the image, command and args as the manifest says (command replaces the entrypoint, args the image's CMD);
- the merged pod and container securityContext: runAsUser/runAsGroup, fsGroup as a supplementary group,
  readOnlyRootFilesystem (and nothing podman would add: no tmpfs on /tmp, /run), capabilities, no-new-privileges,
  the default seccomp profile; runAsNonRoot refuses uid 0 as the kubelet does;
- resources.limits as --memory and --cpus;
- the environment (Secret and ConfigMap references resolved) in a 0600 file under the run folder, never in argv;
- every volume mount as a bind mount of its folder (configMap and secret folders read-only where the manifest says);
- the host network: OpenCode listens where process mode would (127.0.0.1 unless --listen), and a server on this
  machine's loopback (a private git server, a proxy) is reachable as it is from the host;
- with a rootful engine, a user namespace of the pod's own (USERNS_BASE): the pod's uid 1000 is no user of this
  machine, so a local user with uid 1000 cannot read the containers' environment (the server password) in /proc.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, get_args

from ocw.errors import OcwError
from ocw.image.definition import IMAGE_UID
from ocw.kube.pod import Container, Workload
from ocw.kube.quantity import quantity
from ocw.up import passthrough
from ocw.up.pod import environment
from ocw.up.state import WorkspaceDirs
from ocw.up.volumes import EPHEMERAL, GENERATED, PERSISTENT, MountTable, volume_folder

# Container ids 0-65535 are host ids USERNS_BASE + id: far above the ranges /etc/subuid hands to rootless engines
# (100000 upwards), whose users could otherwise run a process with the same host uid.
USERNS_BASE = 0x60000000
USERNS_SIZE = 65536
SUBORDINATE_ID_FILES = (Path("/etc/subuid"), Path("/etc/subgid"))


def host_id(container_id: int) -> int:
    """The id on this machine of a container user or group under a rootful engine."""
    return USERNS_BASE + container_id


def userns_flags() -> list[str]:
    """The pod's user namespace for a rootful engine; refuses when a subordinate id range of this machine overlaps it
    (a user holding it could act as the pod's users)."""
    for table in SUBORDINATE_ID_FILES:
        lines = table.read_text().splitlines() if table.is_file() else []
        for line in lines:
            parts = line.split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                start, count = int(parts[1]), int(parts[2])
                if start < USERNS_BASE + USERNS_SIZE and start + count > USERNS_BASE:
                    raise OcwError(
                        f"{table} gives {parts[0]} the ids {start}-{start + count - 1}, which overlap the ids ocw "
                        f"maps the pod's users to ({USERNS_BASE}-{USERNS_BASE + USERNS_SIZE - 1})",
                        hint=f"move that range in {table}",
                    )
    mapping = f"0:{USERNS_BASE}:{USERNS_SIZE}"
    return ["--uidmap", mapping, "--gidmap", mapping]


@dataclass(frozen=True)
class BindMount:
    source: Path
    target: str
    read_only: bool

    def option(self) -> str:
        for part in (str(self.source), self.target):
            if "," in part:
                raise OcwError(f"the path {part} holds a comma, which a podman --mount option cannot carry")
        return f"type=bind,source={self.source},destination={self.target}" + (",ro=true" if self.read_only else "")


@dataclass(frozen=True)
class ContainerRun:
    """One `podman run` ready to go; the environment file is written just before it starts."""

    name: str
    argv: list[str]  # engine arguments after `podman`: no secret in them
    env_file: Path
    env: dict[str, str] = field(repr=False)
    mounts: list[BindMount]
    uid: int
    fs_group: int | None
    pid_file: Path | None = None  # podman writes the host pid of the container's PID 1 there once it runs
    copies: list[tuple[Path, Path]] = field(default_factory=list)  # (host CA folder, its copy) made at start
    files: dict[Path, str] = field(default_factory=dict)  # public files written at start (no secret)


@dataclass(frozen=True)
class Security:
    uid: int
    gid: int
    fs_group: int | None
    flags: list[str]


def security(work: Workload, container: Container) -> Security:
    merged: dict[str, Any] = {**work.security_context, **container.security_context}
    uid = int(merged.get("runAsUser", IMAGE_UID))
    gid = int(merged.get("runAsGroup", uid))
    fs_group = work.security_context.get("fsGroup")
    if merged.get("runAsNonRoot") and uid == 0:
        raise OcwError(
            f"container {container.name} must run as non-root (runAsNonRoot) but runs as uid 0: "
            "the kubelet would refuse to start it",
            hint="set runAsUser to the image's uid (1000)",
        )
    flags = ["--user", f"{uid}:{gid}"]
    if fs_group is not None:
        flags += ["--group-add", str(int(fs_group))]
    for group in merged.get("supplementalGroups") or []:
        flags += ["--group-add", str(int(group))]
    if merged.get("readOnlyRootFilesystem"):
        flags += ["--read-only", "--read-only-tmpfs=false"]
    capabilities = merged.get("capabilities") or {}
    for cap in capabilities.get("drop") or []:
        flags += ["--cap-drop", str(cap).lower()]
    for cap in capabilities.get("add") or []:
        flags += ["--cap-add", str(cap).lower()]
    if merged.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    seccomp = (merged.get("seccompProfile") or {}).get("type")
    if seccomp == "Unconfined":
        flags += ["--security-opt", "seccomp=unconfined"]
    return Security(uid, gid, int(fs_group) if fs_group is not None else None, flags)


def resource_flags(container: Container) -> list[str]:
    limits = (container.resources or {}).get("limits") or {}
    flags: list[str] = []
    memory = quantity(limits.get("memory"))
    if memory is not None:
        flags += ["--memory", str(int(memory))]
    cpu = quantity(limits.get("cpu"))
    if cpu is not None:
        flags += ["--cpus", format(cpu.quantize(Decimal("0.001")).normalize(), "f")]  # 10, never 1E+1
    return flags


def _bind_mounts(dirs: WorkspaceDirs, container: Container) -> list[BindMount]:
    mounts = []
    for mount in container.mounts:
        folder = volume_folder(dirs, mount.volume)
        source = folder / mount.sub_path if mount.sub_path else folder
        mounts.append(BindMount(source, mount.path, mount.read_only))
    return mounts


def _source_mount(source: str | None) -> list[BindMount]:
    """A local --source is mounted read-only at its own path, so the init step clones it as it would locally; a
    worktree's shared git folder (named by its `.git` file) is mounted too."""
    if source is None or "://" in source or source.startswith("git@"):
        return []
    mounts = [BindMount(Path(source), source, True)]
    result = subprocess.run(
        ["git", "-C", source, "rev-parse", "--path-format=absolute", "--git-common-dir"],
        capture_output=True,
        text=True,
        check=False,
    )
    common = Path(result.stdout.strip()) if result.returncode == 0 else None
    if common is not None and common.is_dir() and not common.is_relative_to(source):
        mounts.append(BindMount(common, str(common), True))
    return mounts


SOURCE_GITCONFIG = "/run/ocw-local-source/gitconfig"


def _trust_mounted_source(dirs: WorkspaceDirs, env: dict[str, str], mounts: list[BindMount]) -> dict[Path, str]:
    """A local --source belongs to this machine's user, not the container's: git refuses to clone from a repository
    another user owns unless a system or global config says it is safe (git 2.39 ignores the command line's). Only
    ocw's local-path override needs it, so only then does the init container get a system config saying so."""
    folder = dirs.generated("local-source")
    env["GIT_CONFIG_SYSTEM"] = SOURCE_GITCONFIG
    mounts.append(BindMount(folder, str(Path(SOURCE_GITCONFIG).parent), True))
    trusted = "".join(f"\tdirectory = {mount.target}\n" for mount in mounts if mount.target != str(folder))
    return {folder / "gitconfig": f"[safe]\n{trusted}\tdirectory = *\n"}


def _env_file_text(env: Mapping[str, str]) -> str:
    for name, value in env.items():
        if "\n" in value or "\r" in value:
            raise OcwError(
                f"the container variable {name} holds a line break, which podman's --env-file cannot carry",
                hint="deliver multi-line values as files (a Secret volume), as the manifests do for the Copilot login",
            )
    return "".join(f"{name}={value}\n" for name, value in env.items())


def write_env_file(run: ContainerRun) -> None:
    """The environment (it may hold the server password) with mode 0600 from its first byte; removed at stop."""
    run.env_file.parent.mkdir(parents=True, exist_ok=True)
    run.env_file.unlink(missing_ok=True)
    fd = os.open(run.env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(_env_file_text(run.env))


ContainerRole = Literal["init", "app"]  # a pod's containers as ocw names them
CONTAINER_ROLES: Final[tuple[ContainerRole, ...]] = get_args(ContainerRole)


def container_name(dirs: WorkspaceDirs, role: ContainerRole) -> str:
    """Unique per state dir, so workspaces of two checkouts (or two test runs) never collide."""
    tag = hashlib.sha256(str(dirs.root).encode()).hexdigest()[:8]
    return f"ocw-{dirs.root.name}-{tag}-{role}"


def _tls_mounts(
    dirs: WorkspaceDirs, mounts: list[passthrough.HostMount]
) -> tuple[list[BindMount], list[tuple[Path, Path]]]:
    """CA files as they are; a CA folder as a copy with its links resolved (they point to host-only paths)."""
    result: list[BindMount] = []
    copies: list[tuple[Path, Path]] = []
    for mount in mounts:
        if mount.source.is_dir():
            copy = dirs.generated("host-tls") / Path(mount.target).name
            copies.append((mount.source, copy))
            result.append(BindMount(copy, mount.target, True))
        else:
            result.append(BindMount(mount.source, mount.target, True))
    return result, copies


def make_copies(run: ContainerRun) -> None:
    """Copy the CA folders the container mounts (public certificates: world-readable, as in /etc/ssl/certs) and
    write its generated public files."""
    for path, text in run.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.parent.chmod(0o755)
        path.chmod(0o644)
    for source, copy in run.copies:
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(source, copy, symlinks=False, ignore_dangling_symlinks=True)
        for root, _subdirs, files in os.walk(copy.parent):
            Path(root).chmod(0o755)
            for entry in files:
                (Path(root) / entry).chmod(0o644)


def container_run(
    *,
    dirs: WorkspaceDirs,
    work: Workload,
    container: Container,
    role: ContainerRole,
    image: str,
    config_maps: Mapping[str, Mapping[str, str]],
    secrets: Mapping[str, Mapping[str, str]],
    overrides: Mapping[str, str],
    host_settings: Mapping[str, str],
    args: list[str] | None = None,
    rootless: bool = False,
) -> ContainerRun:
    env = environment(container, config_maps, secrets, MountTable.build({}), overrides)
    env.pop("PATH")  # the image's PATH: only its own tools
    tls_env, tls_host_mounts = passthrough.for_container(host_settings)
    for name, value in tls_env.items():
        env.setdefault(name, value)
    sec = security(work, container)
    source_mounts = _source_mount(overrides.get("WORKSPACE_GIT_REPOSITORY"))
    files = _trust_mounted_source(dirs, env, source_mounts) if source_mounts and container.init else {}
    name = container_name(dirs, role)
    env_file = dirs.generated("env") / role
    tls_mounts, copies = _tls_mounts(dirs, tls_host_mounts)
    mounts = [*_bind_mounts(dirs, container), *source_mounts, *tls_mounts]
    argv = ["run", "--rm", "--name", name, "--pull", "never", "--network", "host", "--hostname", dirs.root.name]
    argv += sec.flags + resource_flags(container)
    if rootless:
        # The host user becomes the pod's uid and gid, so the volume folders it owns are the container user's.
        argv += ["--userns", f"keep-id:uid={sec.uid},gid={sec.gid}"]
    else:
        argv += userns_flags()
    pid_file = dirs.generated("pids") / role
    argv += ["--stop-timeout", str(int(work.grace_seconds)), "--env-file", str(env_file), "--pidfile", str(pid_file)]
    if container.working_dir:
        argv += ["--workdir", container.working_dir]
    for mount in mounts:
        argv += ["--mount", mount.option()]
    if container.command:
        argv += ["--entrypoint", json.dumps(container.command)]
    argv += [image, *(container.args if args is None else args)]
    return ContainerRun(name, argv, env_file, env, mounts, sec.uid, sec.fs_group, pid_file, copies, files)


def _fix_owner(path: str, uid: int, gid: int) -> None:
    info = os.lstat(path)
    if info.st_uid != uid or info.st_gid != gid:
        os.lchown(path, uid, gid)


def grant_volumes(dirs: WorkspaceDirs, work: Workload, containers: list[Container]) -> None:
    """What the kubelet's fsGroup does, for a rootful engine (whose containers run in the pod's user namespace): the
    pod's user owns its volumes' files, the secret and configMap folders are readable by the fsGroup (their files
    keep their modes). A volume that the next container mounts as the same user again is not walked again: a home
    holds thousands of files, and paths are text for the same reason."""
    granted: dict[Path, tuple[int, int]] = {}  # the owner each folder was last given
    for container in containers:
        sec = security(work, container)
        group = host_id(sec.fs_group if sec.fs_group is not None else sec.gid)
        for mount in container.mounts:
            folder = volume_folder(dirs, mount.volume)
            owner = (0 if mount.volume.type in GENERATED else host_id(sec.uid), group)
            if granted.get(folder) == owner:
                continue
            granted[folder] = owner
            if mount.volume.type in PERSISTENT or mount.volume.type in EPHEMERAL:
                for root, subdirs, files in os.walk(folder):
                    _fix_owner(root, host_id(sec.uid), group)
                    for entry in [*subdirs, *files]:
                        _fix_owner(f"{root}/{entry}", host_id(sec.uid), group)
            elif mount.volume.type in GENERATED:
                for root, _subdirs, files in os.walk(folder):
                    os.lchown(root, 0, group)
                    Path(root).chmod(0o750)
                    for entry in files:
                        os.lchown(Path(root) / entry, 0, group)
