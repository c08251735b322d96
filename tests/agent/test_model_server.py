"""The stand-in model speaks the chat completions API as OpenAI documents it, whoever the client is: these tests
read its answers with a plain HTTP client, not with OpenCode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support.model_server import AUXILIARY_TEXT, DONE_TEXT, ModelServer, Turn

TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}} for name in ("bash", "edit")
]
USER = {"role": "user", "content": "go"}


@pytest.fixture
def model() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


def _events(model: ModelServer, body: dict[str, Any]) -> list[str]:
    """The `data:` payloads of the SSE answer, checking the framing: every event is one data line and a blank line."""
    with httpx.stream("POST", f"{model.base_url}/chat/completions", json=body, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    blocks = raw.split("\n\n")
    assert blocks[-1] == ""  # the stream ends with a complete event
    events = []
    for block in blocks[:-1]:
        assert block.startswith("data: ") and "\n" not in block, block
        events.append(block.removeprefix("data: "))
    return events


def test_streamed_tool_call_arrives_in_indexed_pieces_and_ends_with_done(model: ModelServer) -> None:
    arguments = {"command": "git status --short", "description": "a long enough description to be split"}
    model.set_script([Turn(text="Looking.", tool_calls=(Turn.call("bash", **arguments).tool_calls[0],))])
    body = {"model": "m", "messages": [USER], "tools": TOOLS, "stream": True, "stream_options": {"include_usage": True}}

    events = _events(model, body)

    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1 and len({c["created"] for c in chunks}) == 1
    *answer, usage = chunks
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] > 0  # include_usage: last, empty choices
    assert all(c["usage"] is None for c in answer)
    deltas = [c["choices"][0]["delta"] for c in answer]
    assert deltas[0]["role"] == "assistant"
    assert "".join(d.get("content") or "" for d in deltas) == "Looking."
    pieces = [call for d in deltas for call in d.get("tool_calls", [])]
    assert len(pieces) > 2  # the arguments are split, so a client must join them
    first, *rest = pieces
    assert first["index"] == 0 and first["type"] == "function" and first["id"].startswith("call_")
    assert first["function"] == {"name": "bash", "arguments": ""}
    assert all(set(p) == {"index", "function"} and set(p["function"]) == {"arguments"} for p in rest)
    assert json.loads("".join(p["function"]["arguments"] for p in rest)) == arguments
    assert [c["choices"][0]["finish_reason"] for c in answer] == [None] * (len(answer) - 1) + ["tool_calls"]


def test_turns_follow_the_conversation_and_tool_less_requests_get_a_plain_answer(model: ModelServer) -> None:
    model.set_script([Turn.call("edit", filePath="/x", oldString="a", newString="b"), Turn.say("Edited it.")])
    url = f"{model.base_url}/chat/completions"
    after_tool = [
        USER,
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "tool_call_id": "call_1", "content": "Edit applied successfully."},
    ]

    second = httpx.post(url, json={"model": "m", "messages": after_tool, "tools": TOOLS}, timeout=10).json()
    done = httpx.post(url, json={"model": "m", "messages": [*after_tool, *after_tool[1:]], "tools": TOOLS}).json()
    title = httpx.post(url, json={"model": "m", "messages": [USER]}, timeout=10).json()

    assert second["object"] == "chat.completion"
    assert second["choices"][0]["message"] == {"role": "assistant", "content": "Edited it."}
    assert second["choices"][0]["finish_reason"] == "stop"
    assert done["choices"][0]["message"]["content"] == DONE_TEXT
    assert title["choices"][0]["message"]["content"] == AUXILIARY_TEXT
    assert model.agent_completions()[0].tool_results() == ["Edit applied successfully."]


def test_a_tool_the_request_does_not_offer_is_refused_and_reported(model: ModelServer) -> None:
    model.set_script([Turn.call("write", filePath="/x", content="y")])
    body = {"model": "m", "messages": [USER], "tools": TOOLS, "stream": True}

    response = httpx.post(f"{model.base_url}/chat/completions", json=body, timeout=10)

    assert response.status_code == 400
    assert "write" in response.json()["error"]["message"]
    assert model.problems and "write" in model.problems[0]
