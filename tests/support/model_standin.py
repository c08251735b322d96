"""A stand-in for a model provider's OpenAI-compatible chat API (the only remote service a session needs).

It follows the documented shape of `POST /v1/chat/completions` with `stream: true`: server-sent events, each a
`chat.completion.chunk`, ending with `data: [DONE]`. Every request is answered with the same short reply, so a
browser test can create a session from the UI without a real provider or network.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = "Hello from the stand-in model."
MODEL = "standin-1"


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if finish is not None:
        body["usage"] = {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}
    return f"data: {json.dumps(body)}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "standin"}]})
            return
        self.send_error(404)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(request)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self.send_error(404)
            return
        if not request.get("stream"):
            message = {"role": "assistant", "content": REPLY}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            self._json({"id": "chatcmpl-standin", "object": "chat.completion", "model": MODEL, "choices": [choice]})
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        self.wfile.write(_chunk({"role": "assistant", "content": ""}))
        for word in REPLY.split(" "):
            self.wfile.write(_chunk({"content": word + " "}))
        self.wfile.write(_chunk({}, finish="stop"))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _json(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[dict[str, Any]]


@contextmanager
def serve() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Yields the base URL (`http://127.0.0.1:<free port>/v1`) and the list of requests received."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server.requests
    finally:
        server.shutdown()
        server.server_close()


def opencode_config(base_url: str) -> dict[str, Any]:
    """An OpenCode config whose default model is the stand-in (the user's opencode.json would name a real one)."""
    return {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            "standin": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Stand-in",
                "options": {"baseURL": base_url, "apiKey": "not-a-key"},
                "models": {MODEL: {"name": "Stand-in model", "tool_call": False}},
            }
        },
        "model": f"standin/{MODEL}",
        "small_model": f"standin/{MODEL}",
        "share": "disabled",
    }
