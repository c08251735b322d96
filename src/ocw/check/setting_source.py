"""Where a workspace setting came from: the `postBuild.substitute` line of the Flux Kustomization (its ks.yaml) that
set it, or the default the component writes in `${VAR:=default}`. A rule about a value the user sets names that line,
so the finding points at the file to edit, not at the component that only reads the variable."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ocw.flux.kustomization import FluxKustomization

VARIABLE = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::=(?P<default>[^}]*))?\}$")


@dataclass(frozen=True)
class Setting:
    variable: str
    value: str
    file: str | None  # the ks.yaml that sets it; None: the component's default
    line: int | None

    def describe(self) -> str:
        if self.file is None:
            return f"the component's default {self.variable}={self.value}"
        where = f"{self.file} line {self.line}" if self.line else self.file
        return f"{self.variable}: {self.value} in {where}"


@dataclass(frozen=True)
class SettingSources:
    repo: Path
    kustomizations: Sequence[FluxKustomization] = ()

    def find(self, kustomization: str | None, raw: object) -> Setting | None:
        """The setting behind a field written as `raw` (`${VOLSYNC_CAPACITY}`) in an object `kustomization` builds;
        None when the field is not one variable."""
        match = VARIABLE.match(raw) if isinstance(raw, str) else None
        if match is None:
            return None
        name = match.group("name")
        owner = next((k for k in self.kustomizations if k.name == kustomization), None)
        if owner is None or name not in owner.substitute:
            return Setting(name, match.group("default") or "", None, None)
        file = owner.source_file.as_posix()
        return Setting(name, owner.substitute[name], file, _line_of(self.repo / file, name))


def _line_of(path: Path, variable: str) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(rf"^\s+{re.escape(variable)}:")
    return next((index for index, line in enumerate(lines, 1) if pattern.match(line)), None)
