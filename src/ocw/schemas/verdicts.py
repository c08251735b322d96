"""What schema validation found, kept between runs: an object validated before against the same schema is not
validated again.

One verdict is the list of messages validation gave for one object (or one HelmRelease's values, or what strict YAML
parsing found in a file's text: `ocw.check.sources`, or that promtool passed a rules file: `ocw.check.monitoring`),
keyed by the schema's identity (a core kind: the kubernetes-validate version and schema file; a custom resource: the
digest of its CRD's schema or of the schema file; app-template values: the digest of the values schema folder; a rules
file: the promtool binary), the object as canonical JSON (a rules file: its text's data, in order), what validation
skips, and a digest of ocw's own validation code and of jsonschema's version, so that another ocw never reads a
verdict it would not give.

A run that holds a secret value (a Secret given to --vars, a file sops decrypted) writes no verdict: a message may
quote one. Verdicts live in one SQLite database (`$XDG_CACHE_HOME/ocw/validations/verdicts.sqlite`), which several ocw
processes may read and write at once. Verdicts unused for 30 days are removed. A database that cannot be opened, or
a verdict that cannot be read, is only a miss: the object is validated again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from ocw import secret_values
from ocw.paths import source_digest, user_cache_dir

FORMAT = 1
CACHE_DAYS = 30
LOCK_TIMEOUT_SECONDS = 5.0
# Keys per query of a prefetch: well below SQLite's limit of bound parameters (32766; 999 before 3.32).
_PREFETCH_CHUNK = 500
# ocw's code that decides a verdict: an edited one never reads a verdict of the previous.
_CODE = (
    "schemas/validation.py",
    "schemas/validators.py",
    "schemas/values_amendments.py",
    "schemas/crds.py",
    "schemas/verdicts.py",
    "check/sources.py",
    "check/monitoring.py",
    "monitoring/promtool.py",
    "yamlio.py",
)
_PACKAGES = ("jsonschema", "referencing", "kubernetes-validate")


def validations_cache_dir() -> Path:
    return user_cache_dir() / "validations"


@cache
def code_digest() -> str:
    return source_digest(_CODE, salt=" ".join([str(FORMAT), *_installed_versions(_PACKAGES)]))


def _installed_versions(packages: tuple[str, ...]) -> list[str]:
    """`package=version` of each installed package: the version in the name of its `.dist-info` folder, the first on
    sys.path as importlib.metadata finds it (whose import and metadata parsing would cost more than a check of an
    unchanged repository); importlib.metadata only for a package installed otherwise."""
    wanted = {_normalized(package): package for package in packages}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = [path.name for path in Path(entry or ".").iterdir()]
        except OSError:
            continue
        for name in names:
            distribution, _, version = name.removesuffix(".dist-info").partition("-")
            package = wanted.get(_normalized(distribution))
            if name.endswith(".dist-info") and package is not None and version:
                found.setdefault(package, version)
    versions = []
    for package in packages:
        if package not in found:
            from importlib import metadata  # noqa: PLC0415 - rarely needed, see above

            with contextlib.suppress(metadata.PackageNotFoundError):
                found[package] = metadata.version(package)
        if package in found:
            versions.append(f"{package}={found[package]}")
    return versions


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def canonical(instance: Any) -> bytes | None:
    """The instance as canonical JSON; None when JSON cannot hold it exactly (a date, a number as a map key, ...)."""
    try:
        text = json.dumps(instance, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    try:
        same = json.loads(text) == instance
    except ValueError:
        return None
    return text.encode() if same else None


class Verdicts:
    """The verdicts of one run: read as objects come, written in one transaction by flush()."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = validations_cache_dir() if directory is None else directory
        self._connection: sqlite3.Connection | None = None
        self._broken = False
        self._new: dict[bytes, str] = {}
        self._used: set[bytes] = set()
        # What prefetch() read: a key's stored messages, None where none is stored.
        self._fetched: dict[bytes, str | None] = {}
        self._lock = threading.Lock()
        self.hits = 0

    def key(self, schema: str, instance: Any, skip: str) -> bytes | None:
        """The verdict's key, or None when this instance is not cached."""
        text = canonical(instance)
        if text is None:
            return None
        digest = hashlib.sha256(f"{code_digest()}\0{schema}\0{skip}\0".encode())
        digest.update(text)
        return digest.digest()

    def prefetch(self, keys: Iterable[bytes]) -> None:
        """Read the verdicts of many keys at once, for the get()s that follow: a few queries instead of one each."""
        wanted = [key for key in dict.fromkeys(keys) if key not in self._fetched]
        if not wanted:
            return
        with self._lock:
            connection = self._open()
            if connection is None:
                return
            try:
                for start in range(0, len(wanted), _PREFETCH_CHUNK):
                    chunk = wanted[start : start + _PREFETCH_CHUNK]
                    marks = ",".join("?" * len(chunk))  # only placeholders: the keys are bound parameters
                    query = "SELECT key, messages FROM verdicts WHERE key IN (" + marks + ")"  # noqa: S608
                    rows = connection.execute(query, chunk)
                    self._fetched.update(dict.fromkeys(chunk))
                    self._fetched.update(rows.fetchall())
            except sqlite3.Error:
                return

    def get(self, key: bytes) -> list[str] | None:
        if key in self._fetched:
            text = self._fetched[key]
        else:
            with self._lock:
                connection = self._open()
                if connection is None:
                    return None
                try:
                    row = connection.execute("SELECT messages FROM verdicts WHERE key = ?", (key,)).fetchone()
                except sqlite3.Error:
                    return None
            text = None if row is None else row[0]
        if text is None:
            return None
        try:
            messages = json.loads(text)
        except (TypeError, ValueError):
            return None
        if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
            return None
        self._used.add(key)
        self.hits += 1
        return messages

    def put(self, key: bytes, messages: list[str]) -> None:
        if secret_values.held():
            return  # a message may quote a value a Secret or a decrypted file gave: never written to disk
        self._new[key] = json.dumps(messages)

    def flush(self) -> None:
        """Write the new verdicts, mark the used ones, drop the stale ones; then close the database."""
        with self._lock:
            connection = self._open() if self._new else self._connection
            today = int(time.time() // 86400)
            if connection is not None:
                try:
                    with connection:
                        connection.executemany(
                            "INSERT OR REPLACE INTO verdicts (key, messages, used) VALUES (?, ?, ?)",
                            [(key, messages, today) for key, messages in self._new.items()],
                        )
                        connection.executemany(
                            "UPDATE verdicts SET used = ? WHERE key = ? AND used < ?",
                            [(today, key, today) for key in self._used],
                        )
                        if self._new:
                            connection.execute("DELETE FROM verdicts WHERE used < ?", (today - CACHE_DAYS,))
                except sqlite3.Error:
                    pass  # a busy or broken cache only costs the next run its validation
                connection.close()
            self._connection = None
            self._new.clear()
            self._used.clear()
            self._fetched.clear()

    def _open(self) -> sqlite3.Connection | None:
        if self._connection is not None or self._broken:
            return self._connection
        path = self.directory / "verdicts.sqlite"
        for _attempt in range(2):
            connection: sqlite3.Connection | None = None
            try:
                self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                connection = sqlite3.connect(path, timeout=LOCK_TIMEOUT_SECONDS, check_same_thread=False)
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS verdicts (key BLOB PRIMARY KEY, messages TEXT NOT NULL, "
                    "used INTEGER NOT NULL) WITHOUT ROWID"
                )
                connection.execute("CREATE INDEX IF NOT EXISTS verdicts_used ON verdicts (used)")
                with contextlib.suppress(sqlite3.OperationalError):
                    connection.execute("PRAGMA journal_mode=WAL")
                # A cache: a commit need not reach the disk before the run goes on (WAL stays consistent).
                connection.execute("PRAGMA synchronous=NORMAL")
                self._connection = connection
                return connection
            except sqlite3.OperationalError:
                _close(connection)
                break  # busy, or a folder that cannot be written: run without the cache
            except sqlite3.DatabaseError:
                _close(connection)
                # Not a database (a truncated or foreign file): start again with an empty one.
                for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                    with contextlib.suppress(OSError):
                        stale.unlink()
            except OSError:
                _close(connection)
                break
        self._broken = True
        return None


def _close(connection: sqlite3.Connection | None) -> None:
    if connection is not None:
        with contextlib.suppress(sqlite3.Error):
            connection.close()
