"""Ports for the servers tests start, chosen so that nothing else takes one between the choice and the server's
bind, nor between a stop and the restart on the same port: a port the kernel picks (bind to port 0) lies in its
ephemeral range, from which every outgoing connection of every worker also takes its local port. These come from
below that range, where the kernel never picks, and each pytest-xdist worker has a slice of its own."""

from __future__ import annotations

import itertools
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path

SLICE = 1000  # ports per worker
WORKER_SLICES = 12
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_MACOS_EPHEMERAL_START = 49152


def _ephemeral_start() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _MACOS_EPHEMERAL_START


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw")) % WORKER_SLICES if worker.removeprefix("gw").isdigit() else 0


_FIRST = _ephemeral_start() - SLICE * (WORKER_SLICES - _worker_index())
# From a random place in the slice: two runs of the suite on one machine rarely want the same port at the same time.
_START = random.randrange(SLICE)  # noqa: S311 - spreads ports, guards nothing
_NEXT: Iterator[int] = itertools.cycle([*range(_FIRST + _START, _FIRST + SLICE), *range(_FIRST, _FIRST + _START)])


def free_port() -> int:
    """A port of this worker's slice that nothing listens on now; a port once returned comes back only after the
    worker has used its whole slice."""
    for _ in range(SLICE):
        port = next(_NEXT)
        if unused(port):
            return port
    raise RuntimeError(
        f"no free port in {_FIRST}-{_FIRST + SLICE - 1}, this test worker's slice below the ephemeral range"
    )


def unused(port: int) -> bool:
    """Whether nothing on this machine listens on (or holds) the loopback port now."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
