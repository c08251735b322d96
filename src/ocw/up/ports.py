"""The port OpenCode listens on locally: a number the user gives (`--port`, 0 for any free one), checked free before
anything starts, so that the URL ocw prints is the one OpenCode answers on."""

from __future__ import annotations

import argparse
import socket

from ocw.errors import OcwError

LOCAL_LISTEN = "127.0.0.1"  # what OpenCode binds where the manifest says 0.0.0.0: this machine only
ANY_PORT = 0  # `--port 0`: ocw picks a free port itself (OpenCode would pick one ocw cannot know)
HIGHEST_PORT = 65535


def port_argument(text: str) -> int:
    """argparse type for `--port`: a refusal at once, naming the value, for anything but 0-65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= HIGHEST_PORT:
        raise argparse.ArgumentTypeError(
            f"expected a port number 1-{HIGHEST_PORT}, or {ANY_PORT} for any free port, found {text!r}"
        )
    return port


def port_is_free(host: str, port: int) -> bool:
    with _socket(host) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port free on `host` now, as the kernel chooses one for a bind to port 0."""
    with _socket(host) as probe:
        try:
            probe.bind((host, ANY_PORT))
        except OSError as exc:
            raise OcwError(
                f"--port {ANY_PORT} needs a free port on {host}, but nothing can listen there: {exc.strerror}",
                hint="pass --listen with an address of this machine (default 127.0.0.1)",
            ) from exc
        return int(probe.getsockname()[1])


def _socket(host: str) -> socket.socket:
    return socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
