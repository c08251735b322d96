"""A local stand-in for an OpenAI-compatible model: `POST /v1/chat/completions` on 127.0.0.1, for tests that run the
real OpenCode agent loop without a model provider.

It speaks the chat completions API as OpenAI documents it: a request names `model`, `messages` and optionally
`tools` and `stream`; with `stream: true` the answer is Server-Sent Events, one `data: {chat.completion.chunk}` line
per event and `data: [DONE]` at the end; tool calls arrive as `delta.tool_calls` pieces keyed by `index` (the first
piece carries `id`, `type` and `function.name`, later ones append to `function.arguments`) and the last chunk has
`finish_reason` `tool_calls`; `stream_options.include_usage` adds a final chunk with empty `choices` and `usage`.
Without `stream` the answer is one `chat.completion` object.

What it answers comes from a script: a list of turns, each a text reply or a set of tool calls. An agent request
(one that offers tools) gets the turn numbered by how many assistant messages follow the last user message, so the
script replays deterministically however often OpenCode asks; once it is used up the model says `DONE_TEXT`. A
request without tools (OpenCode's title and summary calls) gets `AUXILIARY_TEXT`. A tool call naming a tool the
request did not offer is answered with HTTP 400, as a real provider refuses it, and recorded as a problem, so a test
notices a script that does not match the agent it drives. Every request body is recorded.
"""

from __future__ import annotations

import http.server
import itertools
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

DONE_TEXT = "Done."
AUXILIARY_TEXT = "Stand-in title"
# Arguments are streamed in pieces this long, as real providers split them, so the client must join them.
ARGUMENT_PIECE = 16


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Turn:
    """One model answer: text, or tool calls (with optional text before them)."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()

    @staticmethod
    def say(text: str) -> Turn:
        return Turn(text=text)

    @staticmethod
    def call(name: str, **arguments: Any) -> Turn:
        return Turn(tool_calls=(ToolCall(name, arguments),))


@dataclass(frozen=True)
class RecordedCompletion:
    """A chat completions request as received, and the text of the answer it got."""

    body: dict[str, Any]
    answer: str

    @property
    def tool_names(self) -> list[str]:
        return [str(tool.get("function", {}).get("name")) for tool in self.body.get("tools") or []]

    @property
    def offers_tools(self) -> bool:
        return bool(self.body.get("tools"))

    def tool_results(self) -> list[str]:
        """The content of every `tool` message in the request: what OpenCode sent back from the tools it ran."""
        return [_content_text(m.get("content")) for m in self.body.get("messages", []) if m.get("role") == "tool"]


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def turn_index(messages: Sequence[dict[str, Any]]) -> int:
    """How many assistant messages follow the last user message: the script position of the next answer."""
    count = 0
    for message in reversed(messages):
        role = message.get("role")
        if role == "user":
            return count
        if role == "assistant":
            count += 1
    return count


@dataclass
class ModelServer:
    """Serve scripted completions at http://127.0.0.1:<port>/v1. Use as a context manager."""

    script: list[Turn] = field(default_factory=list)
    model: str = "m"
    completions: list[RecordedCompletion] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=itertools.count)
    _httpd: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> ModelServer:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.owner = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="model-server", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the model server is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def provider_config(self, provider: str = "stand-in") -> dict[str, Any]:
        """An OpenCode config that makes this server the workspace's model (`<provider>/<model>`)."""
        return {
            "provider": {
                provider: {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "Local stand-in model",
                    "options": {"baseURL": self.base_url, "apiKey": "stand-in-key"},
                    "models": {self.model: {"name": "Scripted", "tool_call": True}},
                }
            },
            "model": f"{provider}/{self.model}",
            "small_model": f"{provider}/{self.model}",
        }

    def set_script(self, turns: Sequence[Turn]) -> None:
        with self._lock:
            self.script = list(turns)
            self.completions.clear()
            self.problems.clear()

    def agent_completions(self) -> list[RecordedCompletion]:
        with self._lock:
            return [c for c in self.completions if c.offers_tools]

    # -- answering

    def answer(self, body: dict[str, Any]) -> Turn:
        if not body.get("tools"):
            return Turn.say(AUXILIARY_TEXT)
        index = turn_index(body.get("messages") or [])
        with self._lock:
            return self.script[index] if index < len(self.script) else Turn.say(DONE_TEXT)

    def record(self, body: dict[str, Any], turn: Turn) -> None:
        answer = turn.text + "".join(f"<{c.name} {json.dumps(c.arguments)}>" for c in turn.tool_calls)
        with self._lock:
            self.completions.append(RecordedCompletion(body, answer))

    def problem(self, message: str) -> None:
        with self._lock:
            self.problems.append(message)

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)


def completion_chunks(
    turn: Turn, *, model: str, completion_id: str, created: int, include_usage: bool = False
) -> Iterator[dict[str, Any]]:
    """The `chat.completion.chunk` objects of one streamed answer, in order, without the final usage chunk.
    With `include_usage` every chunk carries `"usage": null`, as the API documents for that option."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            result["usage"] = None
        return result

    yield chunk({"role": "assistant", "content": ""})
    words = turn.text.split(" ") if turn.text else []
    for position, word in enumerate(words):
        yield chunk({"content": word if position == 0 else " " + word})
    for index, call in enumerate(turn.tool_calls):
        arguments = json.dumps(call.arguments)
        head = {"index": index, "id": f"call_{completion_id}_{index}", "type": "function"}
        yield chunk({"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]})
        for start in range(0, len(arguments), ARGUMENT_PIECE):
            piece = arguments[start : start + ARGUMENT_PIECE]
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, "tool_calls" if turn.tool_calls else "stop")


def completion_object(turn: Turn, *, model: str, completion_id: str, created: int) -> dict[str, Any]:
    """The non-streamed `chat.completion` for one answer."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{completion_id}_{index}",
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for index, call in enumerate(turn.tool_calls)
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if turn.tool_calls else "stop",
            }
        ],
        "usage": USAGE,
    }


USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    @property
    def owner(self) -> ModelServer:
        return self.server.owner  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": self.owner.model, "object": "model", "created": 0, "owned_by": "stand-in"}]
            self._json(200, {"object": "list", "data": data})
            return
        self._error(404, f"no route GET {self.path}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route POST {self.path}")
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            self.owner.problem(f"request body is not JSON: {exc}")
            self._error(400, f"request body is not JSON: {exc}")
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self.owner.problem("request has no messages list")
            self._error(400, "`messages` must be a list")
            return
        turn = self.owner.answer(body)
        offered = {str(t.get("function", {}).get("name")) for t in body.get("tools") or []}
        unknown = [c.name for c in turn.tool_calls if c.name not in offered]
        if unknown:
            self.owner.problem(f"the script calls {unknown}, the request offers only {sorted(offered)}")
            self._error(400, f"tool(s) {unknown} not offered in this request")
            return
        self.owner.record(body, turn)
        completion_id = f"chatcmpl-{self.owner.next_id()}"
        created = int(time.time())
        model = str(body.get("model", self.owner.model))
        if not body.get("stream"):
            self._json(200, completion_object(turn, model=model, completion_id=completion_id, created=created))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = completion_chunks(
            turn, model=model, completion_id=completion_id, created=created, include_usage=include_usage
        )
        for chunk in chunks:
            self._event(json.dumps(chunk))
        if include_usage:
            usage_chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": USAGE,
            }
            self._event(json.dumps(usage_chunk))
        self._event("[DONE]")

    def _event(self, data: str) -> None:
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        encoded = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": {"message": message, "type": "invalid_request_error", "code": None}})
