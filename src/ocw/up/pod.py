"""A pod's containers as processes on this machine: command line, environment and working directory.

What the kubelet would do, done locally: `envFrom` then `env` (later wins), `$(VAR)` references expanded, Secret and
ConfigMap references resolved, every container path translated into the volume folders (see volumes.py). The
environment starts empty but for PATH (as a container's does, apart from its image's variables), so nothing of the
user's own environment (XDG_*, OPENCODE_*) reaches OpenCode: its data goes where the pod's HOME points. PATH is
the caller's: `ocw up` gives a folder holding only the workspace image's commands (toolbox.py).
The workspace image's entrypoint is tini, which has no local role: its command (the container's args) runs as is,
found on that PATH. Other images' entrypoints are replaced by the matching local program: `opencode` from the
project's pinned install, `git` from the system.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ocw import toolchain
from ocw.errors import OcwError
from ocw.image.definition import IMAGE_NAME
from ocw.kube.pod import Container, KeyRef
from ocw.up.volumes import MountTable

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
ALL_ADDRESSES = ("0.0.0.0", "::", "[::]")  # noqa: S104 - recognised in the manifest, replaced locally


@dataclass(frozen=True)
class ProcessSpec:
    container: str
    argv: list[str]
    env: dict[str, str] = field(repr=False)  # may hold secrets (the server password): never printed
    cwd: Path


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined names are replaced, `$$` is a literal `$`, the rest stays."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, value)


def _image_repository(image: str) -> str:
    without_digest = image.split("@", 1)[0]
    last = without_digest.rsplit("/", 1)[-1]
    return without_digest.rsplit(":", 1)[0] if ":" in last else without_digest


def entrypoint(container: Container) -> list[str]:
    """The local program that stands in for the image's entrypoint."""
    repository = _image_repository(container.image)
    if repository.rsplit("/", 1)[-1] == IMAGE_NAME:
        return []  # tini: the args are the command
    if repository.endswith("/opencode") or repository == "opencode":
        return [str(toolchain.opencode())]
    if repository.endswith("alpine/git"):
        return [str(toolchain.git())]
    raise OcwError(
        f"container {container.name} has no command and ocw does not know the entrypoint of image {container.image}",
        hint="give the container an explicit command in the HelmRelease values",
    )


def _local_command(container: Container) -> tuple[list[str], list[str]]:
    """(this machine's program, the container's own words): only the latter are container paths to translate."""
    if not container.command:
        return entrypoint(container), []
    first, rest = container.command[0], container.command[1:]
    if first == "opencode":
        return [str(toolchain.opencode())], rest
    return [], [first, *rest]


def _lookup(store: Mapping[str, Mapping[str, str]], kind: str, ref: KeyRef, container: str) -> str | None:
    """The value a key reference gives; None for an optional reference to a missing object or key (the kubelet then
    leaves the variable out)."""
    name, key = ref.name, ref.key
    if ref.optional and key not in store.get(name, {}):
        return None
    if name not in store:
        raise OcwError(
            f"container {container} reads {kind} {name}, which the workspace does not define",
            hint=f"the {kind} must come from the built Kustomization",
        )
    if key not in store[name]:
        raise OcwError(
            f"container {container} reads key {key} of {kind} {name}, which has no such key "
            "(in the cluster the container would not start)",
            hint="provide the value (e.g. in --secrets) or fix the reference",
        )
    return store[name][key]


def environment(
    container: Container,
    config_maps: Mapping[str, Mapping[str, str]],
    secrets: Mapping[str, Mapping[str, str]],
    table: MountTable,
    overrides: Mapping[str, str],
    *,
    path: str | None = None,
) -> dict[str, str]:
    env: dict[str, str] = {"PATH": path or os.environ.get("PATH") or DEFAULT_PATH}
    for source in container.env_from:
        store = secrets if source.kind == "Secret" else config_maps
        if source.name not in store and source.optional:
            continue
        if source.name not in store:
            raise OcwError(f"container {container.name} takes envFrom {source.kind} {source.name}, which is undefined")
        env.update({source.prefix + key: value for key, value in store[source.name].items()})
    for var in container.env:
        value: str | None
        if var.secret_ref:
            value = _lookup(secrets, "Secret", var.secret_ref, container.name)
        elif var.config_map_ref:
            value = _lookup(config_maps, "ConfigMap", var.config_map_ref, container.name)
        elif var.other_source is not None:
            raise OcwError(
                f"container {container.name}: variable {var.name} comes from {sorted(var.other_source)}, "
                "which has no meaning outside a cluster",
                hint="ocw up supports value, secretKeyRef and configMapKeyRef",
            )
        else:
            value = table.translate(expand(var.value or "", env))
        if value is not None:
            env[var.name] = overrides.get(var.name, value)
    tmp = table.host_path("/tmp")  # noqa: S108 - the container's /tmp, mapped to its emptyDir
    if tmp is not None and "TMPDIR" not in env:
        env["TMPDIR"] = str(tmp)  # programs that write to /tmp in the pod write to its volume here
    return env


def process_spec(
    container: Container,
    config_maps: Mapping[str, Mapping[str, str]],
    secrets: Mapping[str, Mapping[str, str]],
    table: MountTable,
    overrides: Mapping[str, str] | None = None,
    *,
    path: str | None = None,
) -> ProcessSpec:
    env = environment(container, config_maps, secrets, table, overrides or {}, path=path)
    # The stand-in program is a path on this machine: a checkout under /tmp must not be taken for the pod's /tmp.
    program, words = _local_command(container)
    argv = [*program, *(table.translate(expand(part, env)) for part in [*words, *container.args])]
    if container.working_dir:
        cwd = Path(table.translate_path(container.working_dir))
        if cwd == Path(container.working_dir) and not cwd.is_dir():
            raise OcwError(
                f"container {container.name}'s workingDir {container.working_dir} is on no volume and "
                "does not exist on this machine",
                hint="put the working directory on one of the pod's volumes",
            )
    else:
        cwd = table.host_path("/") or Path(env.get("HOME", "/"))
    return ProcessSpec(container.name, argv, env, cwd)


def serve_address(args: list[str], listen: str, port: int | None) -> tuple[list[str], str, int | None]:
    """`opencode serve` arguments with the address made local: an all-addresses hostname becomes `listen`, the port
    becomes `port` when given. Returns the new arguments, the bound host and the port (None if neither said)."""
    result: list[str] = []
    host = "127.0.0.1"
    found_port: int | None = None
    values = iter(enumerate(args))
    for _index, arg in values:
        name, sep, inline = arg.partition("=")
        if name not in ("--hostname", "--port"):
            result.append(arg)
            continue
        value = inline if sep else next(values, (0, ""))[1]
        if name == "--hostname":
            host = listen if value in ALL_ADDRESSES else value
            value = host
        else:
            try:
                found_port = int(value)
            except ValueError as exc:
                raise OcwError(f"the container's --port {value!r} is not a number") from exc
            if port is not None:
                found_port = port
            value = str(found_port)
        result.extend([name, value])
    if found_port is None and port is not None:
        result.extend(["--port", str(port)])
        found_port = port
    return result, host, found_port
