"""Cluster-level Flux variables (`postBuild.substituteFrom`) read from files: a YAML map, `KEY=value` lines, or the
ConfigMaps and Secrets Flux reads them from (a decrypted `cluster-secrets` Secret as `sops -d` prints it: `stringData`
as written, `data` base64-decoded, as the API server would hand them to Flux)."""

from __future__ import annotations

import base64
import binascii
import functools
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ocw import secret_values
from ocw.errors import OcwError
from ocw.flux.substitution import VARIABLE_NAME
from ocw.inputs import read_text
from ocw.yamlio import YamlError, load_all_strict

SOURCE_KINDS = ("ConfigMap", "Secret")
VARS_HINT = "pass a YAML map, KEY=value lines or a decrypted Secret to --vars"

EXAMPLE_VARS = "cluster-vars.example.yaml"


def _var_file_text(path: Path) -> str:
    try:
        found = path.stat()
    except OSError:
        found = None
    if found is None or stat.S_ISREG(found.st_mode):
        return read_text(path, "variables file", hint=VARS_HINT)
    return _piped_text(path, found.st_dev, found.st_ino)


@functools.cache
def _piped_text(path: Path, _device: int, _inode: int) -> str:
    """Read once per pipe: `--vars <(sops -d ...)` is a pipe, empty when read again, and a run may read its variables
    more than once (install checks the repository after writing, and as it was before)."""
    return read_text(path, "variables file", hint=VARS_HINT)


def read_var_file(path: Path) -> dict[str, str]:
    text = _var_file_text(path)
    stripped = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if stripped and all("=" in line and ":" not in line.split("=", 1)[0] for line in stripped):
        return _parse_dotenv(path, stripped)
    try:
        docs = load_all_strict(text)
    except YamlError as exc:
        raise OcwError(f"{path}:{exc.line or '?'}: {exc.message}", hint="fix the YAML of the variables file") from exc
    if not docs:
        return {}
    sources = [doc for doc in docs if isinstance(doc, dict) and doc.get("kind") in SOURCE_KINDS]
    if sources:  # cluster-settings / cluster-secrets passed as they are; later documents win, as later files do
        merged: dict[str, str] = {}
        for source in sources:
            merged.update(_source_variables(path, source))
        return merged
    data = docs[0]
    if not isinstance(data, dict):
        raise OcwError(f"{path}: expected a YAML map of NAME: value, found a {type(data).__name__}")
    return {_checked_name(path, str(key)): _scalar(path, str(key), value) for key, value in data.items()}


def _source_variables(path: Path, source: dict[str, Any]) -> dict[str, str]:
    """A ConfigMap's or Secret's variables. A Secret still encrypted (its `sops:` block and ENC[...] values) gives
    nothing to substitute: that is an error, not empty strings in every hostname."""
    kind = source["kind"]
    metadata = source.get("metadata")
    name = metadata.get("name", "?") if isinstance(metadata, dict) else "?"
    result: dict[str, str] = {}
    data = source.get("data") or {}
    string_data = source.get("stringData") or {}
    if not isinstance(data, dict) or not isinstance(string_data, dict):
        raise OcwError(f"{path}: {kind} {name}: data and stringData must be maps of NAME: value")
    if "sops" in source and any(str(v).startswith("ENC[") for v in (*data.values(), *string_data.values())):
        raise OcwError(
            f"{path}: {kind} {name} is still SOPS-encrypted (its values are ENC[...])",
            hint=f"pass it decrypted, without writing it to disk: `--vars <(sops -d {path})`",
        )
    for key, value in data.items():
        text = _scalar(path, str(key), value)
        if kind == "Secret":
            text = _base64(path, name, str(key), text)
        result[_checked_name(path, str(key))] = text
    for key, value in string_data.items():  # stringData wins over data, as the API server merges them
        result[_checked_name(path, str(key))] = _scalar(path, str(key), value)
    if kind == "Secret":
        secret_values.remember(result.values())
    return result


def _base64(path: Path, name: str, key: str, value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OcwError(
            f"{path}: Secret {name} data.{key} is not base64 of UTF-8 text",
            hint="a Secret's `data` holds base64; put plain values under `stringData`",
        ) from exc


def _parse_dotenv(path: Path, lines: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for line in lines:
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        result[_checked_name(path, key)] = value
    return result


def _checked_name(path: Path, key: str) -> str:
    if not VARIABLE_NAME.match(key):
        raise OcwError(f"{path}: {key!r} is not a valid Flux variable name (letters, digits and _, not first a digit)")
    return key


def _scalar(path: Path, key: str, value: object) -> str:
    if isinstance(value, dict | list):
        raise OcwError(f"{path}: variable {key} must be a string, found a {type(value).__name__}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def load_cluster_vars(repo: Path, var_files: Sequence[Path]) -> tuple[dict[str, str], list[Path]]:
    """Variables from the given files (later files win); the repo's example file when none is given."""
    files = list(var_files)
    if not files and (repo / EXAMPLE_VARS).is_file():
        files = [repo / EXAMPLE_VARS]
    merged: dict[str, str] = {}
    for path in files:
        merged.update(read_var_file(path))
    return merged, files
