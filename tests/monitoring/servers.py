"""Debian's Prometheus and blackbox exporter, started for one test on free loopback ports with their own folders,
and stopped when it ends."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from support.ports import free_port
from support.prerequisites import require_command
from support.processes import answers, stop

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Server:
    address: str  # host:port
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@contextmanager
def _serve(command: list[str], ready_path: str, folder: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start `command` (with `{address}` filled in) until it answers `ready_path`; a port taken meanwhile by another
    test gets a second and third try on a fresh one."""
    for attempt in range(3):
        address = f"127.0.0.1:{free_port()}"
        log = folder / f"{Path(command[0]).name}.{attempt}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [part.format(address=address) for part in command],
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=folder,
            )
        try:
            if answers(f"http://{address}{ready_path}", process, timeout=START_TIMEOUT):
                yield Server(address, log)
                return
        finally:
            stop(process)
        if "address already in use" not in log.read_text(errors="replace"):
            break
    raise AssertionError(f"{command[0]} did not start: {log.read_text(errors='replace')[-2000:]}")


@contextmanager
def blackbox_exporter(config: dict[str, Any], folder: Path, *, ca_file: Path | None = None) -> Iterator[Server]:
    """`prometheus-blackbox-exporter` with `config` (its blackbox.yml). `ca_file` is the trust store its TLS checks use
    (Go reads SSL_CERT_FILE), so a test CA stands in for the public one."""
    binary = require_command("prometheus-blackbox-exporter", package="prometheus-blackbox-exporter", purpose="probes")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blackbox.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [str(binary), "--config.file=blackbox.yml", "--web.listen-address={address}"]
    env = {"SSL_CERT_FILE": str(ca_file)} if ca_file else None
    with _serve(command, "/-/healthy", folder, env) as server:
        yield server


@contextmanager
def prometheus(config: dict[str, Any], folder: Path, rule_files: dict[str, str] | None = None) -> Iterator[Server]:
    """A Prometheus server with `config` (its prometheus.yml) and `rule_files` (name -> rules file text)."""
    binary = require_command("prometheus", package="prometheus", purpose="a real Prometheus scrapes and evaluates")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (rule_files or {}).items():
        (folder / name).write_text(text)
    (folder / "prometheus.yml").write_text(yaml.safe_dump({**config, "rule_files": list(rule_files or {})}))
    command = [
        str(binary),
        "--config.file=prometheus.yml",
        f"--storage.tsdb.path={folder / 'data'}",
        "--web.listen-address={address}",
    ]
    with _serve(command, "/-/ready", folder) as server:
        yield server


def query(server: Server, expr: str) -> list[dict[str, Any]]:
    """GET /api/v1/query: the instant vector's samples (`metric` labels and `value`)."""
    answer = httpx.get(f"{server.url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def wait_for(server: Server, expr: str, value: str, timeout: float = 90.0) -> dict[str, Any]:
    """The first sample of `expr` once it has `value`; fails with what was last seen after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        seen = query(server, expr)
        if seen and seen[0]["value"][1] == value:
            return seen[0]
        time.sleep(0.5)
    raise AssertionError(f"{expr} did not become {value} within {timeout:g} s; last seen: {seen}")
