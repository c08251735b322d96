"""Decrypting a SOPS-encrypted variables file the way kustomize-controller does at reconcile time, but read-only and
only where this machine can: `sops` on PATH and an age key (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, or sops' own default
file). `sops --decrypt` prints to a pipe; nothing decrypted is ever written to disk. Without either, or when sops
cannot decrypt the file with the keys at hand, the caller keeps the key names with placeholders."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ocw import secret_values

SOPS_TIMEOUT = 30.0


def _remember(document: dict[str, Any]) -> None:
    """Every decrypted value, so that nothing written later (the render cache) holds one."""
    for section in ("data", "stringData"):
        values = document.get(section)
        if not isinstance(values, dict):
            continue
        for value in values.values():
            text = "" if value is None else str(value)
            if section == "data":  # a Secret's data is base64: the variable is what it decodes to
                with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                    text = base64.b64decode(text, validate=True).decode()
            secret_values.remember([text])


def age_key_available(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    if env.get("SOPS_AGE_KEY", "").strip():
        return True
    named = env.get("SOPS_AGE_KEY_FILE", "").strip()
    if named:
        return Path(named).expanduser().is_file()
    return _default_key_file(env).is_file()


def _default_key_file(env: dict[str, str]) -> Path:
    """Where sops looks for age keys by default: $XDG_CONFIG_HOME/sops/age/keys.txt, on macOS under
    ~/Library/Application Support unless XDG_CONFIG_HOME is set."""
    config = env.get("XDG_CONFIG_HOME", "").strip()
    if config:
        base = Path(config)
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path.home() / ".config"
    return base / "sops" / "age" / "keys.txt"


def decrypt(path: Path) -> dict[str, Any] | None:
    """The decrypted document of a one-document SOPS file, or None when it cannot be decrypted here."""
    sops = shutil.which("sops")
    if sops is None or not age_key_available():
        return None
    try:
        done = subprocess.run(  # the file's path only: no secret in argv
            [sops, "--decrypt", "--output-type", "json", str(path)],
            capture_output=True,
            text=True,
            timeout=SOPS_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    try:
        document = json.loads(done.stdout)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    _remember(document)
    return document
