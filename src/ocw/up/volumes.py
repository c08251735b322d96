"""Pod volumes as folders on this machine, and container paths translated into them.

persistentVolumeClaim -> `volumes/<name>/` (kept across runs: the workspace volume);
emptyDir              -> `volumes/<name>/`, emptied at every start (a pod's emptyDir lives as long as the pod);
configMap / secret    -> `run/<name>/`, written at every start from the built ConfigMap and the rendered
                         Secret (honouring `items` and `defaultMode`), removed at stop.
A path inside a container is translated by the longest mount path that contains it, so `/Users/jbaker/git/x` lands in
the `home` volume's folder even though `/Users/jbaker` and a deeper mount could both match.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ocw.errors import OcwError
from ocw.kube.pod import Container, Mount, Volume
from ocw.up.state import WorkspaceDirs

KUBERNETES_DEFAULT_MODE = 0o644
PERSISTENT = ("persistentVolumeClaim",)
EPHEMERAL = ("emptyDir",)
GENERATED = ("configMap", "secret")


@dataclass(frozen=True)
class MountTable:
    """Container path -> folder on this machine, longest container path first."""

    entries: tuple[tuple[str, Path], ...]

    @classmethod
    def build(cls, pairs: Mapping[str, Path]) -> MountTable:
        ordered = sorted(pairs.items(), key=lambda item: len(item[0].rstrip("/")), reverse=True)
        return cls(tuple((path.rstrip("/") or "/", host) for path, host in ordered))

    def translate_path(self, value: str) -> str:
        for path, host in self.entries:
            if value == path:
                return str(host)
            if value.startswith(path + "/"):
                return str(host / value[len(path) + 1 :])
        return value

    def translate(self, value: str) -> str:
        """A path, or an option with a path after `=` (`--dir=/x`); anything else is returned unchanged."""
        if value.startswith("/"):
            return self.translate_path(value)
        name, sep, rest = value.partition("=")
        if sep and rest.startswith("/"):
            return f"{name}={self.translate_path(rest)}"
        return value

    def host_path(self, container_path: str) -> Path | None:
        translated = self.translate_path(container_path)
        return None if translated == container_path else Path(translated)


def volume_folder(dirs: WorkspaceDirs, volume: Volume) -> Path:
    if volume.type in PERSISTENT or volume.type in EPHEMERAL:
        return dirs.volume(volume.name)
    if volume.type in GENERATED:
        return dirs.generated(volume.name)
    raise OcwError(
        f"volume {volume.name} is of type {volume.type}, which ocw up cannot map to this machine",
        hint="ocw up supports persistentVolumeClaim, emptyDir, configMap and secret volumes",
    )


def mount_table(dirs: WorkspaceDirs, container: Container) -> MountTable:
    pairs: dict[str, Path] = {}
    for mount in container.mounts:
        folder = volume_folder(dirs, mount.volume)
        pairs[mount.path] = folder / mount.sub_path if mount.sub_path else folder
    return MountTable.build(pairs)


def _files_for(volume: Volume, data: Mapping[str, str], source_label: str) -> dict[str, str]:
    """Volume file path -> content: every key, or only the projected `items` (absent keys are left out)."""
    if not volume.items:
        return dict(data)
    files: dict[str, str] = {}
    for key, path in volume.items:
        if key in data:
            files[path] = data[key]
        elif source_label != "secret":
            raise OcwError(
                f"volume {volume.name} projects key {key}, which {source_label} {volume.source} does not have",
                hint="fix the volume's items or the source's keys",
            )
    return files


def _write_tree(folder: Path, files: Mapping[str, str], mode: int) -> None:
    """Write files with their final mode from creation on: a secret file is never briefly world-readable."""
    for relative, content in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        target.chmod(mode)


def _open_up(path: Path) -> None:
    """Give the owner rwx on a real directory; a link is never followed (its target may be any file of the user's)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fchmod(fd, stat.S_IRWXU)
        finally:
            os.close(fd)


def remove_tree(folder: Path) -> None:
    """Remove a folder even if read-only modes were applied inside it (the pod's users write there: a link in it
    is removed, never followed)."""
    if not folder.exists():
        return

    def make_writable_and_retry(function: object, path: str, _exc: object) -> None:
        _open_up(Path(path).parent)
        _open_up(Path(path))
        if callable(function):
            function(path)

    shutil.rmtree(folder, onerror=make_writable_and_retry)  # onexc needs Python 3.12


def prepare(
    dirs: WorkspaceDirs,
    mounts: list[Mount],
    config_maps: Mapping[str, Mapping[str, str]],
    secrets: Mapping[str, Mapping[str, str]],
) -> None:
    """Create every volume's folder for one pod start: persistent ones kept, the others made afresh."""
    dirs.volumes.mkdir(parents=True, exist_ok=True)
    remove_tree(dirs.run)
    dirs.run.mkdir(mode=0o700, parents=True)
    dirs.run.chmod(0o700)  # whatever the umask: secret volumes live below
    seen: set[str] = set()
    for mount in mounts:
        volume = mount.volume
        if volume.name in seen:
            continue
        seen.add(volume.name)
        folder = volume_folder(dirs, volume)
        if volume.type in PERSISTENT:
            folder.mkdir(parents=True, exist_ok=True)
        elif volume.type in EPHEMERAL:
            remove_tree(folder)
            folder.mkdir(parents=True)
        else:
            kind = "ConfigMap" if volume.type == "configMap" else "secret"
            store = config_maps if volume.type == "configMap" else secrets
            if volume.source is None or volume.source not in store:
                raise OcwError(
                    f"volume {volume.name} mounts {kind} {volume.source}, which the workspace does not define",
                    hint="the ConfigMap must be in the built Kustomization; the Secret is the ExternalSecret's target",
                )
            folder.mkdir(mode=0o700)
            mode = volume.default_mode if volume.default_mode is not None else KUBERNETES_DEFAULT_MODE
            _write_tree(folder, _files_for(volume, store[volume.source], kind), mode)
        if mount.sub_path:
            (folder / mount.sub_path).mkdir(parents=True, exist_ok=True)
