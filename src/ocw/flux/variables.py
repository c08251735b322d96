"""Cluster-level Flux variables (`postBuild.substituteFrom`) read from files: a YAML map or `KEY=value` lines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ocw.errors import OcwError
from ocw.flux.substitution import VARIABLE_NAME
from ocw.yamlio import YamlError, load_all_strict

EXAMPLE_VARS = "cluster-vars.example.yaml"


def read_var_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise OcwError(
            f"cannot read variables file {path}: {exc.strerror}", hint="pass an existing file to --vars"
        ) from exc
    stripped = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if stripped and all("=" in line and ":" not in line.split("=", 1)[0] for line in stripped):
        return _parse_dotenv(path, stripped)
    try:
        docs = load_all_strict(text)
    except YamlError as exc:
        raise OcwError(f"{path}:{exc.line or '?'}: {exc.message}", hint="fix the YAML of the variables file") from exc
    if not docs:
        return {}
    data = docs[0]
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and data.get("kind") in ("ConfigMap", "Secret"):
        data = data.get("stringData") or data["data"]  # a cluster-settings ConfigMap can be passed as is
    if not isinstance(data, dict):
        raise OcwError(f"{path}: expected a YAML map of NAME: value, found a {type(data).__name__}")
    return {_checked_name(path, str(key)): _scalar(path, str(key), value) for key, value in data.items()}


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
