"""Files the user hands ocw (--vars, --kubeconfig, --auth-file, --secrets, ...), read so that a missing, unreadable
or non-UTF-8 file is one line naming the file and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import yaml

from ocw.errors import OcwError


def read_text(path: Path, what: str, *, hint: str | None = None) -> str:
    """The file's text. `what` names it for the user (`variables file`, `kubeconfig`, ...); `hint` says what to do
    when it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise OcwError(f"{what} {path}: no such file", hint=hint or "pass an existing file") from exc
    except IsADirectoryError as exc:
        raise OcwError(f"{what} {path}: a folder, not a file", hint=hint or "pass the file itself") from exc
    except OSError as exc:
        raise OcwError(f"{what} {path}: cannot read it ({exc.strerror})", hint=hint or "check its permissions") from exc
    return decode(data, path, what)


def decode(data: bytes, path: Path, what: str) -> str:
    """The file's bytes as UTF-8 text; else one line naming the file, the byte and its line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise OcwError(
            f"{what} {path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})",
            hint="save it as UTF-8 (e.g. with `iconv -t UTF-8`), or pass the right file",
        ) from exc


def yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML parse error in one line: what was wrong and on which line (PyYAML's own text spans several)."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    return f"{problem} on line {mark.line + 1}" if mark is not None else str(problem)
