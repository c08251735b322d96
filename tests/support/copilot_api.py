"""A stand-in for GitHub Copilot's API (api.githubcopilot.com), the one service OpenCode's Copilot provider talks to,
served over TLS with a certificate for that name from a test CA. OpenCode reaches it through an HTTPS proxy that routes
`api.githubcopilot.com:443` here (support/connect_proxy.py), trusting the CA through NODE_EXTRA_CA_CERTS.

What it answers follows what OpenCode 1.18 asks, seen against it: `GET /models` (the model list, each model with
`model_picker_enabled`, `capabilities.limits` and `capabilities.supports`) and `POST /chat/completions` (the OpenAI
chat completions shape, streamed as server-sent events). With `accept_login` False, every request is answered as GitHub
answers a token it no longer accepts: HTTP 401 with a JSON error. Every request is recorded (method, path)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from support.pki import serve_https

HOST = "api.githubcopilot.com"
MODEL = "gpt-4.1"
MODELS = {
    "data": [
        {
            "model_picker_enabled": True,
            "id": MODEL,
            "name": "GPT-4.1",
            "version": "gpt-4.1-2025-04-14",
            "supported_endpoints": ["/chat/completions"],
            "capabilities": {
                "family": "gpt-4.1",
                "limits": {
                    "max_context_window_tokens": 128000,
                    "max_output_tokens": 16384,
                    "max_prompt_tokens": 128000,
                },
                "supports": {"streaming": True, "tool_calls": True},
            },
        }
    ]
}


@dataclass
class CopilotApi:
    accept_login: bool = True
    requests: list[tuple[str, str]] = field(default_factory=list)


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-copilot",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


@contextmanager
def serve(api: CopilotApi, cert: Path, key: Path) -> Iterator[int]:
    """The stand-in's port on 127.0.0.1."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _refuse(self) -> bool:
            if api.accept_login:
                return False
            body = json.dumps({"error": {"message": "unauthorized: token expired", "code": "unauthorized"}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True

        def do_GET(self) -> None:
            api.requests.append(("GET", self.path))
            if self._refuse():
                return
            body = json.dumps(MODELS).encode()
            self.send_response(200 if self.path.rstrip("/").endswith("/models") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            api.requests.append(("POST", self.path))
            if self._refuse():
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in (_chunk({"role": "assistant", "content": "Hello."}), _chunk({}, "stop"), b"data: [DONE]\n\n"):
                self.wfile.write(piece)
            self.wfile.flush()

    with serve_https(Handler, cert, key) as port:
        yield port
