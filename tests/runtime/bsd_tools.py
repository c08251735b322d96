"""A PATH of BSD-behaving tools, as on the user's Mac: only POSIX tools and the options BSD's know, plus git and jq,
and only tools the workspace image provides too (its `commands` list), so the step needs nothing the pod lacks.

GNU's own options are refused the way BSD's tools refuse them (`mv: illegal option -- T`, exit 64); `date` prints a
literal `N` for `%N`, as macOS's does; GNU-only tools (`timeout`, `sha256sum`, `stat -c`, `readlink -f`) are absent.
Every other tool the init step may call is this machine's, which behaves as POSIX says.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ocw.image.definition import image_commands

# Tool -> the single-letter options its macOS version accepts (a leading-dash word with any other letter, or any
# `--long` option, is refused). These are the tools whose GNU versions carry the options a script tends to lean on.
BSD_OPTIONS = {
    "mv": "fhinv",
    "date": "jnRruvf",
    "sed": "Eaelnri",
    "grep": "AabBCcDdEeFfGHhIiJLlmnOopqRSrsUVvwxXZz",
    "ls": "@ABCFGHILOPRSTUWabcdefghiklmnopqrstuvwxy1%,",
    "mktemp": "dqtu",
    "cp": "HLPRXafinpvc",
    "rm": "dfiPRrvWx",
}
# POSIX tools taken from this machine as they are.
POSIX_TOOLS = (
    "awk", "basename", "cat", "chmod", "cksum", "cut", "dirname", "env", "head", "id", "mkdir", "rmdir", "sleep",
    "sort", "tail", "tr", "wc", "sh", "printf", "kill", "uname",
)  # fmt: skip
OTHER_TOOLS = ("git", "jq", "dash")

STAND_IN = """#!/bin/sh
# {name} as BSD's: only the options -{letters}, no GNU long options.
for arg do
  case $arg in
    --) break ;;
    --*) printf '%s\\n' "{name}: illegal option -- $arg" >&2; exit 64 ;;
    -*[!{letters}]*) printf '%s\\n' "{name}: illegal option -- $arg" >&2; exit 64 ;;
    -*) ;;
    *) break ;;
  esac
done
{body}
"""
DATE_BODY = """for arg do
  case $arg in
    +*%N*) shift; set -- "$@" "$(printf '%s\\n' "$arg" | sed 's/%N/N/g')" ;;  # BSD prints N for %N
    *) shift; set -- "$@" "$arg" ;;
  esac
done
exec {real} "$@\""""


def build_bsd_path(folder: Path) -> str:
    """Fill `folder` with the stand-ins and links; returns it as a PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    in_image = set(image_commands())
    for name, letters in BSD_OPTIONS.items():
        assert name in in_image, f"{name} stands in for a tool the image lacks"
        real = shutil.which(name)
        assert real, f"{name} is needed to stand in for BSD's"
        body = DATE_BODY.format(real=real) if name == "date" else f'exec {real} "$@"'
        script = folder / name
        script.write_text(STAND_IN.format(name=name, letters=letters, body=body))
        script.chmod(0o755)
    for name in (*(tool for tool in POSIX_TOOLS if tool in in_image), *OTHER_TOOLS):
        real = shutil.which(name)
        if real:
            (folder / name).symlink_to(real)
    folder.chmod(0o755)
    return str(folder)
