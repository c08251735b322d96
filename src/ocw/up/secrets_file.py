"""The `--secrets` file: `KEY=value` lines keyed by the workspace's Doppler variable names.

One value per line, taken as written after the first `=` (a JSON document stays on one line). A value wrapped in
matching quotes loses them: single quotes keep the text literally, double quotes understand `\\"`, `\\\\` and `\\n`.
Blank lines and lines starting with `#` are skipped. Errors name the line, never its value.
"""

from __future__ import annotations

import re
from pathlib import Path

from ocw.errors import OcwError

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DOUBLE_QUOTED_ESCAPES = {'\\"': '"', "\\\\": "\\", "\\n": "\n"}


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r'\\["\\n]', lambda m: _DOUBLE_QUOTED_ESCAPES[m.group(0)], value[1:-1])
    return value


def read_secrets_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise OcwError(
            f"cannot read the secrets file {path}: {exc.strerror}",
            hint="pass a readable KEY=value file to --secrets",
        ) from exc
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        if not sep or not _KEY.match(key):
            raise OcwError(
                f"{path}:{number}: expected KEY=value with a variable name before '=', found something else",
                hint="write one secret per line, e.g. OPENCODE_FLUX_PASSWORD=..., JSON values on a single line",
            )
        if key in values:
            raise OcwError(f"{path}:{number}: {key} is given twice", hint="keep one line per key")
        values[key] = _unquote(value.strip())
    return values
