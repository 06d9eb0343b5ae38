"""Tests of the scripted OpenAI-compatible server that every other test relies on."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from hermes.testing.scripted.server import (
    LLAMA_CPP_PYTHON,
    ChatRequest,
    ScriptedCall,
    ScriptedReply,
    ScriptedServer,
    ServerQuirks,
    load_script,
    parse_quirks,
    reply_from_dict,
    reply_to_dict,
)
from hermes.testing.scripted.validate import MISSING_TOOL_RESULTS, ORPHAN_TOOL_MESSAGE

USER: list[Any] = [{"role": "user", "content": "hi"}]


def user(text: str) -> list[Any]:
    """A one-message history for the SDK (typed loosely on purpose)."""
    return [{"role": "user", "content": text}]


REPO_ROOT = Path(__file__).resolve().parents[2]


# -- helpers -------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A running server with an empty script; tests add replies."""
    with ScriptedServer() as srv:
        yield srv


def client(server: ScriptedServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=30)


def post(
    server: ScriptedServer,
    body: Any = None,
    *,
    raw: bytes | None = None,
    path: str = "/v1/chat/completions",
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPResponse, bytes]:
    """POST with http.client; returns (status, response, whole body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    data = raw if raw is not None else json.dumps(body).encode()
    conn.request(
        "POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp.status, resp, payload


def get(server: ScriptedServer, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    payload = json.loads(resp.read())
    conn.close()
    return resp.status, payload


def sse(payload: bytes) -> tuple[list[dict[str, Any]], bool]:
    """Parse an SSE body into chunk objects; also whether it ended with [DONE]."""
    chunks: list[dict[str, Any]] = []
    done = False
    for event in payload.decode().split("\n\n"):
        if not event.strip():
            continue
        assert event.startswith("data: "), event
        data = event[len("data: ") :]
        if data == "[DONE]":
            done = True
        else:
            assert not done, "chunk after [DONE]"
            chunks.append(json.loads(data))
    return chunks, done


def stream(
    server: ScriptedServer, messages: list[dict[str, Any]] | None = None, **extra: Any
) -> list[dict[str, Any]]:
    status, resp, payload = post(
        server, {"model": "m", "messages": messages or USER, "stream": True, **extra}
    )
    assert status == 200, payload
    assert resp.getheader("Content-Type", "").startswith("text/event-stream")
    chunks, done = sse(payload)
    assert done
    return chunks


def tool_deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        d for c in chunks for choice in c["choices"] for d in choice["delta"].get("tool_calls", [])
    ]


def assemble_calls(chunks: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Assemble tool calls from deltas the way a tolerant client must.

    With ``index``: key by index. Without: a delta carrying an id starts a new call,
    others continue the last one. A repeated name is not concatenated.
    """
    calls: list[dict[str, str]] = []
    by_index: dict[int, dict[str, str]] = {}
    for d in tool_deltas(chunks):
        fn = d.get("function", {})
        if "index" in d:
            call = by_index.get(d["index"])
            if call is None:
                call = by_index[d["index"]] = {"id": "", "name": "", "arguments": ""}
                calls.append(call)
        elif "id" in d or not calls:
            call = {"id": "", "name": "", "arguments": ""}
            calls.append(call)
        else:
            call = calls[-1]
        if d.get("id"):
            call["id"] = d["id"]
        if fn.get("name") and not call["name"]:
            call["name"] = fn["name"]
        call["arguments"] += fn.get("arguments") or ""
    return calls


def error_of(payload: bytes) -> dict[str, Any]:
    body = json.loads(payload)
    assert set(body["error"]) >= {"message", "type", "code"}
    return body["error"]


# -- streaming ----------------------------------------------------------------------------


def test_stream_text_with_the_sdk(server: ScriptedServer) -> None:
    text = "Hello there, this is a streamed answer."
    server.add(ScriptedReply(text=text, chunk_size=5))
    chunks = list(
        client(server).chat.completions.create(
            model="m", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == text
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 8
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert all(c.object == "chat.completion.chunk" and c.model == "scripted-model" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == len(text) // 4
    assert last.usage.prompt_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens


def test_stream_chunk_shape_and_reasoning_first(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="answer", reasoning="let me think", usage=(100, 20)))
    chunks = stream(server)  # no stream_options: usage is still sent
    for c in chunks:
        assert set(c) >= {"id", "object", "created", "model", "choices"}
        assert isinstance(c["created"], int)
    first = chunks[0]["choices"][0]
    assert first["index"] == 0 and first["delta"]["role"] == "assistant"
    kinds = [
        next(
            iter(k for k in ("reasoning_content", "content") if k in c["choices"][0]["delta"]), None
        )
        for c in chunks[1:-2]
    ]
    assert kinds == ["reasoning_content", "reasoning_content", "content"]
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks[1:-2])
    assert reasoning == "let me think"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "total_tokens": 120,
    }


CALLS = (
    ScriptedCall("read_file", '{"path": "src/main.py", "limit": 200}'),
    ScriptedCall("terminal", '{"command": "ls -la"}', id="my_id"),
    ScriptedCall("noop", ""),
)


@pytest.mark.parametrize("style", ["standard", "no-index", "repeat", "whole"])
def test_stream_tool_calls_in_each_delta_style(server: ScriptedServer, style: str) -> None:
    server.add(ScriptedReply(text="Looking.", tool_calls=CALLS, chunk_size=7, delta_style=style))
    chunks = stream(server)
    deltas = tool_deltas(chunks)
    assert assemble_calls(chunks) == [
        {"id": "call_1", "name": "read_file", "arguments": CALLS[0].arguments},
        {"id": "my_id", "name": "terminal", "arguments": CALLS[1].arguments},
        {"id": "call_2", "name": "noop", "arguments": ""},
    ]
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finish[-1] == "tool_calls" and finish.count("tool_calls") == 1
    with_id = [d for d in deltas if "id" in d]
    if style == "standard":
        assert all("index" in d for d in deltas)
        assert [d["index"] for d in with_id] == [0, 1, 2]
        assert all("name" not in d.get("function", {}) for d in deltas if "id" not in d)
        assert len(deltas) > 3
    elif style == "no-index":
        assert not any("index" in d for d in deltas)
        assert len(with_id) == 3
        assert all(set(d) == {"function"} for d in deltas if "id" not in d)
    elif style == "repeat":
        assert all("id" in d and d["function"].get("name") for d in deltas)
        assert len(deltas) == 6 + 3 + 1  # 37/7 -> 6, 21/7 -> 3, empty -> 1
    else:
        assert len(deltas) == 3
        assert [d["function"]["arguments"] for d in deltas] == [c.arguments for c in CALLS]


def test_generated_call_ids_are_unique_across_requests_and_empty_id_is_sent(
    server: ScriptedServer,
) -> None:
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall("a", "{}"),)),
        ScriptedReply(tool_calls=(ScriptedCall("b", "{}"), ScriptedCall("c", "{}", id=""))),
    )
    first = assemble_calls(stream(server))
    second_chunks = stream(server)
    assert [c["id"] for c in first] == ["call_1"]
    ids_sent = [d["id"] for d in tool_deltas(second_chunks) if "id" in d]
    assert ids_sent == ["call_2", ""]


def test_invalid_json_arguments_are_sent_verbatim(server: ScriptedServer) -> None:
    broken = '{"path": "a.txt", '
    server.add(ScriptedReply(tool_calls=(ScriptedCall("read_file", broken),)))
    assert assemble_calls(stream(server))[0]["arguments"] == broken


def test_finish_reason_length_and_no_usage(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="truncated", finish_reason="length", usage=None))
    chunks = stream(server)
    assert all(c["choices"] for c in chunks)
    assert not any("usage" in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_chunk_delays_still_deliver_everything(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(
            text="slow but sure", chunk_size=2, delay_seconds=0.01, chunk_delay_seconds=0.001
        )
    )
    chunks = stream(server)
    assert (
        "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        == "slow but sure"
    )


# -- non-streaming ---------------------------------------------------------------------------


def test_non_streaming_completion_with_the_sdk(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(
            text="I'll read it.",
            tool_calls=(ScriptedCall("read_file", '{"path": "x"}'),),
            reasoning="hmm",
            usage=(11, 7),
        )
    )
    result = client(server).chat.completions.create(model="m", messages=USER)
    assert result.object == "chat.completion"
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.role == "assistant"
    assert choice.message.content == "I'll read it."
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert (call.id, call.type, call.function.name, call.function.arguments) == (
        "call_1",
        "function",
        "read_file",
        '{"path": "x"}',
    )
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (11, 7)
    assert result.usage.total_tokens == 18


def test_non_streaming_tool_only_reply_has_null_content_and_usage_none_omits_usage(
    server: ScriptedServer,
) -> None:
    server.add(ScriptedReply(tool_calls=(ScriptedCall("noop", "{}"),), usage=None))
    status, _, payload = post(server, {"model": "m", "messages": USER})
    body = json.loads(payload)
    assert status == 200
    assert body["choices"][0]["message"]["content"] is None
    assert "usage" not in body


# -- models --------------------------------------------------------------------------------


def test_models_endpoints() -> None:
    with ScriptedServer(model="org/coder-7b", context_window=32_768) as srv:
        models = client(srv).models.list()
        assert [m.id for m in models.data] == ["org/coder-7b"]
        status, listing = get(srv, "/v1/models")
        assert status == 200 and listing["object"] == "list"
        assert listing["data"][0]["context_length"] == 32_768
        status, one = get(srv, "/v1/models/org/coder-7b")
        assert status == 200 and one["id"] == "org/coder-7b" and one["object"] == "model"
        status, missing = get(srv, "/v1/models/other")
        assert status == 404 and "other" in missing["error"]["message"]
        assert ("GET", "/v1/models", 200) in srv.http_log
        assert srv.requests == []  # model lookups are not chat requests


def test_models_without_context_window() -> None:
    with ScriptedServer(context_window=None) as srv:
        _, listing = get(srv, "/v1/models")
        assert "context_length" not in listing["data"][0]
        assert listing["data"][0]["id"] == "scripted-model"


# -- validation ------------------------------------------------------------------------------


def _asst(*ids: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": i, "type": "function", "function": {"name": "read_file", "arguments": "{}"}}
            for i in ids
        ],
    }


def _tool(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "ok"}


TOOL_DEF = {"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}

INVALID_BODIES: list[tuple[str, Any, str]] = [
    ("no model", {"messages": USER}, "Missing required parameter: 'model'."),
    ("no messages", {"model": "m"}, "Missing required parameter: 'messages'."),
    ("empty messages", {"model": "m", "messages": []}, "Invalid 'messages': empty array."),
    ("messages not a list", {"model": "m", "messages": "hi"}, "Invalid type for 'messages'"),
    (
        "bad role",
        {"model": "m", "messages": [{"role": "robot", "content": "x"}]},
        "Invalid value: 'robot'. Supported values are:",
    ),
    (
        "user without content",
        {"model": "m", "messages": [{"role": "user"}]},
        "Missing required parameter: 'messages[0].content'.",
    ),
    (
        "call unanswered before user",
        {"model": "m", "messages": [*USER, _asst("call_1"), *USER]},
        MISSING_TOOL_RESULTS + "call_1",
    ),
    (
        "one of two calls unanswered",
        {"model": "m", "messages": [*USER, _asst("call_1", "call_2"), _tool("call_2")]},
        MISSING_TOOL_RESULTS + "call_1",
    ),
    (
        "tool message after user",
        {"model": "m", "messages": [*USER, _tool("call_1")]},
        ORPHAN_TOOL_MESSAGE,
    ),
    (
        "tool message with unknown id",
        {"model": "m", "messages": [*USER, _asst("call_1"), _tool("call_1"), _tool("call_9")]},
        ORPHAN_TOOL_MESSAGE,
    ),
    (
        "tool answers an earlier assistant message",
        {
            "model": "m",
            "messages": [*USER, _asst("call_1"), _tool("call_1"), _asst("call_2"), _tool("call_1")],
        },
        ORPHAN_TOOL_MESSAGE,
    ),
    (
        "duplicate tool_call ids",
        {"model": "m", "messages": [*USER, _asst("call_1", "call_1"), _tool("call_1")]},
        "duplicate tool_call id 'call_1'",
    ),
    (
        "empty tool_call id",
        {"model": "m", "messages": [*USER, _asst(""), _tool("")]},
        "Invalid 'messages[1].tool_calls[0].id': empty string.",
    ),
    (
        "assistant with null content and no calls",
        {"model": "m", "messages": [*USER, {"role": "assistant", "content": None}]},
        "Invalid type for 'messages[1].content'",
    ),
    (
        "tool not a function",
        {"model": "m", "messages": USER, "tools": [{"type": "retrieval"}]},
        "Invalid value: 'retrieval'.",
    ),
    (
        "tool without name",
        {"model": "m", "messages": USER, "tools": [{"type": "function", "function": {}}]},
        "Missing required parameter: 'tools[0].function.name'.",
    ),
    (
        "tool name with spaces",
        {
            "model": "m",
            "messages": USER,
            "tools": [{"type": "function", "function": {"name": "read file"}}],
        },
        "string does not match pattern",
    ),
    ("empty tools", {"model": "m", "messages": USER, "tools": []}, "Invalid 'tools': empty array."),
    (
        "max_tokens zero",
        {"model": "m", "messages": USER, "max_tokens": 0},
        "Invalid 'max_tokens': integer below minimum value.",
    ),
    (
        "max_tokens string",
        {"model": "m", "messages": USER, "max_tokens": "100"},
        "Invalid type for 'max_tokens': expected an integer, but got a string instead.",
    ),
    (
        "max_tokens boolean",
        {"model": "m", "messages": USER, "max_tokens": True},
        "Invalid type for 'max_tokens'",
    ),
    (
        "stream_options without stream",
        {"model": "m", "messages": USER, "stream_options": {"include_usage": True}},
        "only allowed when 'stream' is enabled",
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b, e) for _, b, e in INVALID_BODIES],
    ids=[n for n, _, _ in INVALID_BODIES],
)
def test_validation_rejects_with_400(server: ScriptedServer, body: Any, expected: str) -> None:
    server.add(ScriptedReply(text="never played"))
    status, _, payload = post(server, body)
    assert status == 400
    error = error_of(payload)
    assert error["type"] == "invalid_request_error"
    assert expected in error["message"]
    assert server.rejections == [error["message"]]
    assert len(server.requests) == 1 and server.requests[0].body == body
    assert server.remaining == 1 and server.served == 0  # a rejected request plays no reply


def test_unparseable_body_is_rejected_and_recorded(server: ScriptedServer) -> None:
    status, _, payload = post(server, raw=b"{not json")
    assert status == 400
    assert "could not parse the JSON body" in error_of(payload)["message"]
    assert server.requests[0].body == {} and server.requests[0].raw_size == 9


def test_validation_error_reaches_the_sdk(server: ScriptedServer) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(server).chat.completions.create(
            model="m",
            messages=[*USER, _asst("call_7")],  # type: ignore[list-item]
        )
    assert info.value.status_code == 400
    assert MISSING_TOOL_RESULTS + "call_7" in info.value.message


def test_valid_tool_history_is_accepted(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="done"))
    messages = [
        {"role": "system", "content": "be brief"},
        *USER,
        _asst("call_a", "call_b"),
        _tool("call_b"),  # results may come in any order
        _tool("call_a"),
        {"role": "assistant", "content": "read both"},
        {"role": "user", "content": [{"type": "text", "text": "thanks"}]},
    ]
    chunks = stream(
        server, messages, tools=[TOOL_DEF], max_tokens=50, stream_options={"include_usage": True}
    )
    assert chunks[1]["choices"][0]["delta"]["content"] == "done"
    assert server.rejections == []


def test_validation_can_be_disabled() -> None:
    with ScriptedServer([ScriptedReply(text="anything goes")], validate=False) as srv:
        status, _, payload = post(srv, {"messages": [{"role": "tool", "content": "x"}]})
        assert status == 200
        assert json.loads(payload)["choices"][0]["message"]["content"] == "anything goes"
        assert srv.rejections == []


# -- scripted failures -------------------------------------------------------------------------


def test_429_with_retry_after(server: ScriptedServer) -> None:
    server.add(ScriptedReply(status=429, retry_after=2), ScriptedReply(text="ok now"))
    with pytest.raises(openai.RateLimitError) as info:
        client(server).chat.completions.create(model="m", messages=USER)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "2"
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "rate_limit_error"
    again = client(server).chat.completions.create(model="m", messages=USER)
    assert again.choices[0].message.content == "ok now"


def test_fractional_retry_after_and_custom_error_message(server: ScriptedServer) -> None:
    server.add(ScriptedReply(status=503, retry_after=0.5, text="overloaded, go away"))
    status, resp, payload = post(server, {"model": "m", "messages": USER, "stream": True})
    assert status == 503
    assert resp.getheader("Retry-After") == "0.5"
    assert resp.getheader("Content-Type") == "application/json"  # no stream for errors
    assert error_of(payload)["message"] == "overloaded, go away"


def test_scripted_500(server: ScriptedServer) -> None:
    server.add(ScriptedReply(status=500, text="kaboom"))
    with pytest.raises(openai.InternalServerError) as info:
        client(server).chat.completions.create(model="m", messages=USER, stream=True)
    assert info.value.status_code == 500
    assert "kaboom" in info.value.message
    assert server.errors == []  # scripted failures are not server errors


def test_script_exhausted(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="only one"))
    assert stream(server)
    status, _, payload = post(server, {"model": "m", "messages": USER, "stream": True})
    assert status == 500
    message = "scripted server: script exhausted after 1 replies"
    assert error_of(payload)["message"] == message
    assert server.errors == [message]
    assert server.rejections == []


def test_cut_stream_sdk_sees_a_connection_error(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="x" * 80, cut_after_chunks=3))
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client(server).chat.completions.create(model="m", messages=USER, stream=True):
            received.append(chunk)
    assert len(received) == 3


def test_cut_stream_http_client_sees_incomplete_read(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="y" * 40, cut_after_chunks=2), ScriptedReply(text="after"))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(
        "POST", "/v1/chat/completions", json.dumps({"model": "m", "messages": USER, "stream": True})
    )
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises(http.client.IncompleteRead) as info:
        resp.read()
    conn.close()
    chunks, done = sse(info.value.partial)
    assert len(chunks) == 2 and not done
    assert stream(server)[1]["choices"][0]["delta"]["content"] == "after"  # server carries on


def test_cut_after_all_chunks_drops_only_done(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="abc", usage=None, cut_after_chunks=99))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(
        "POST", "/v1/chat/completions", json.dumps({"model": "m", "messages": USER, "stream": True})
    )
    resp = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead) as info:
        resp.read()
    conn.close()
    chunks, done = sse(info.value.partial)
    assert len(chunks) == 3 and not done  # role, content, finish


def test_cut_non_streaming_response(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="z" * 200, cut_after_chunks=0))
    with pytest.raises(openai.APIConnectionError):
        client(server).chat.completions.create(model="m", messages=USER)


def test_stall_handshake_then_stop_does_not_hang() -> None:
    srv = ScriptedServer(
        [ScriptedReply(text="a" * 64, stall_after_chunks=2, stall_seconds=60)]
    ).start()
    port = srv.port
    outcome: list[object] = []

    def consume() -> None:
        got = []
        try:
            for chunk in client(srv).chat.completions.create(model="m", messages=USER, stream=True):
                got.append(chunk)
            outcome.append("finished")
        except openai.APIConnectionError as exc:
            outcome.append(exc)
        outcome.append(len(got))

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    assert srv.wait_for_stall(timeout=10)
    assert srv.stalls == 1
    srv.stop()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert isinstance(outcome[0], openai.APIConnectionError)  # cut, not completed
    assert outcome[1] == 2
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_short_stall_then_continue(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="resumes fine", stall_after_chunks=1, stall_seconds=0.05))
    assert not server.wait_for_stall(timeout=0.01)
    chunks = stream(server)
    assert server.wait_for_stall(timeout=0)
    assert (
        "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        == "resumes fine"
    )


# -- script control and bookkeeping ------------------------------------------------------------


def test_add_while_running_and_wait_for_requests(server: ScriptedServer) -> None:
    assert not server.wait_for_requests(1, timeout=0.01)
    server.add(ScriptedReply(text="one"))
    assert stream(server)[1]["choices"][0]["delta"]["content"] == "one"
    server.add(ScriptedReply(text="two"))
    assert stream(server)[1]["choices"][0]["delta"]["content"] == "two"
    assert server.wait_for_requests(2, timeout=0)
    assert [r.index for r in server.requests] == [0, 1]
    assert server.served == 2 and server.remaining == 0


def test_headers_are_recorded(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="a"), ScriptedReply(text="b"))
    client(server).chat.completions.create(model="m", messages=USER)
    post(server, {"model": "m", "messages": USER})
    with_key, without_key = server.requests
    assert with_key.headers["authorization"] == "Bearer x"
    assert "authorization" not in without_key.headers
    assert without_key.raw_size == len(json.dumps({"model": "m", "messages": USER}).encode())


def test_script_function_sees_each_request() -> None:
    seen: list[ChatRequest] = []

    def script(request: ChatRequest) -> ScriptedReply:
        seen.append(request)
        return ScriptedReply(text=f"reply {request.index} to {request.messages[-1]['content']}")

    with ScriptedServer(script) as srv:
        result = client(srv).chat.completions.create(model="m", messages=user("ping"))
        assert result.choices[0].message.content == "reply 0 to ping"
        assert seen[0].body["model"] == "m" and not seen[0].stream
        with pytest.raises(TypeError):
            srv.add(ScriptedReply())


def test_script_function_failure_is_a_500() -> None:
    def script(request: ChatRequest) -> ScriptedReply:
        raise KeyError("nothing for you")

    with ScriptedServer(script) as srv:
        status, _, payload = post(srv, {"model": "m", "messages": USER})
        assert status == 500
        assert "KeyError" in error_of(payload)["message"]
        assert len(srv.errors) == 1 and "KeyError" in srv.errors[0]


def test_concurrent_clients_each_get_a_distinct_reply() -> None:
    n = 64  # a burst: more than a small listen backlog would accept
    replies = [
        ScriptedReply(text=f"reply-{i}", chunk_size=2, chunk_delay_seconds=0.001) for i in range(n)
    ]
    results: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)
    with ScriptedServer(replies) as srv:

        def worker() -> None:
            barrier.wait(timeout=30)  # all connect at once
            chunks = stream(srv)
            text = "".join(
                c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]
            )
            with lock:
                results.append(text)

        threads = [threading.Thread(target=worker) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(results) == sorted(f"reply-{i}" for i in range(n))
        assert sorted(r.index for r in srv.requests) == list(range(n))
        assert srv.remaining == 0 and srv.errors == []


def test_keep_alive_connection_serves_several_requests(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="first"), ScriptedReply(text="second"))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    texts = []
    for stream_flag in (True, False):
        conn.request(
            "POST",
            "/v1/chat/completions",
            json.dumps({"model": "m", "messages": USER, "stream": stream_flag}),
        )
        resp = conn.getresponse()
        payload = resp.read()
        if stream_flag:
            texts.append(sse(payload)[0][1]["choices"][0]["delta"]["content"])
        else:
            texts.append(json.loads(payload)["choices"][0]["message"]["content"])
    conn.close()
    assert texts == ["first", "second"]


def test_chunked_request_body_is_read(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="chunked ok"))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    parts = [
        json.dumps({"model": "m", "messages": USER})[:10].encode(),
        json.dumps({"model": "m", "messages": USER})[10:].encode(),
    ]
    conn.request("POST", "/v1/chat/completions", body=iter(parts), encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 200
    assert json.loads(resp.read())["choices"][0]["message"]["content"] == "chunked ok"
    conn.close()


def test_unknown_path_is_404(server: ScriptedServer) -> None:
    status, _, payload = post(server, {"model": "m"}, path="/v1/completions")
    assert status == 404 and "/v1/completions" in error_of(payload)["message"]
    assert server.requests == []


def test_stop_closes_the_listening_socket_and_idle_connections() -> None:
    srv = ScriptedServer().start()
    port = srv.port
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    idle.request("GET", "/v1/models")
    assert idle.getresponse().read()  # served; the keep-alive connection stays open
    assert idle.sock is not None
    srv.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert idle.sock.recv(1) == b""  # the server closed the idle connection too
    idle.close()
    srv.stop()  # idempotent


def test_record_file_in_process(tmp_path: Path) -> None:
    record = tmp_path / "requests.jsonl"
    with ScriptedServer([ScriptedReply(text="r")], record=record) as srv:
        post(srv, {"model": "m", "messages": USER, "max_tokens": 5})
        post(srv, {"model": "m", "messages": []})
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert lines == [
        {"model": "m", "messages": USER, "max_tokens": 5},
        {"model": "m", "messages": []},
    ]


# -- reply (de)serialisation -------------------------------------------------------------------


def test_reply_dict_round_trip() -> None:
    replies = [
        ScriptedReply(),
        ScriptedReply(text="t", reasoning="r", usage=None, finish_reason="length"),
        ScriptedReply(
            tool_calls=(
                ScriptedCall("a", "{bad", id=""),
                ScriptedCall("b", "{}", id="x"),
                ScriptedCall("c", ""),
            ),
            delta_style="repeat",
            chunk_size=3,
            usage=(5, 6),
        ),
        ScriptedReply(
            status=429, retry_after=1.5, cut_after_chunks=2, stall_after_chunks=1, stall_seconds=0.5
        ),
    ]
    for reply in replies:
        as_dict = reply_to_dict(reply)
        assert json.loads(json.dumps(as_dict)) == as_dict
        assert reply_from_dict(as_dict) == reply
    assert reply_to_dict(ScriptedReply()) == {}
    assert reply_to_dict(replies[1])["usage"] is None


def test_reply_from_dict_conveniences_and_errors(tmp_path: Path) -> None:
    reply = reply_from_dict({"tool_calls": [{"name": "f", "arguments": {"a": 1}}], "usage": [3, 4]})
    assert reply.tool_calls == (ScriptedCall("f", '{"a": 1}'),)
    assert reply.usage == (3, 4)
    with pytest.raises(ValueError, match="textt"):
        reply_from_dict({"textt": "typo"})
    with pytest.raises(ValueError, match="delta_style"):
        reply_from_dict({"delta_style": "sideways"})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"text": "ok"}, {"chunk_size": 0}]))
    with pytest.raises(ValueError, match="reply 1"):
        load_script(bad)


# -- another process ----------------------------------------------------------------------------


def test_subprocess_mode_with_script_and_record(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    record = tmp_path / "record.jsonl"
    script.write_text(
        json.dumps(
            [
                {"text": "from another process", "chunk_size": 4},
                {"tool_calls": [{"name": "terminal", "arguments": '{"command": "ls"}'}]},
            ]
        )
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hermes.testing.scripted.server",
            "--script",
            str(script),
            "--record",
            str(record),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:"), line
        base_url = line.split(" ", 1)[1]
        assert base_url.endswith("/v1")
        sdk = openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=30)
        chunks = list(sdk.chat.completions.create(model="m", messages=USER, stream=True))
        assert (
            "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            == "from another process"
        )
        second = sdk.chat.completions.create(model="m", messages=user("run it"), max_tokens=10)
        assert second.choices[0].message.tool_calls is not None
        call = second.choices[0].message.tool_calls[0]
        assert isinstance(call, ChatCompletionMessageFunctionToolCall)
        assert call.function.name == "terminal"
        with pytest.raises(openai.InternalServerError, match="script exhausted after 2 replies"):
            sdk.chat.completions.create(model="m", messages=USER)
        lines = [json.loads(x) for x in record.read_text().splitlines()]
        assert len(lines) == 3
        assert lines[0]["stream"] is True and lines[0]["messages"] == USER
        assert lines[1]["messages"][0]["content"] == "run it" and lines[1]["max_tokens"] == 10
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "script exhausted" in err  # errors are logged to stderr


def test_subprocess_mode_bad_script_exits_2(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text('{"not": "a list"}')
    proc = subprocess.run(
        [sys.executable, "-m", "hermes.testing.scripted.server", "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert proc.returncode == 2
    assert "cannot load script" in proc.stderr
    assert "READY" not in proc.stdout


# -- quirks of real servers and hostile streams (issue 20) -------------------------------------

CALL_HISTORY: list[Any] = [
    {"role": "user", "content": "read a"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "alpha"},
]
TOOL_DEFS: list[Any] = [
    {"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}
]


def raw_events(payload: bytes) -> list[str]:
    """Every SSE event of a body as raw text (comments and odd fields included)."""
    return [e for e in payload.decode().split("\n\n") if e]


def test_null_content_beside_calls_is_a_500_validation_error_like_llama_cpp_python() -> None:
    with ScriptedServer(quirks=ServerQuirks(null_content_500=True)) as server:
        server.add(ScriptedReply(text="a"), ScriptedReply(text="b"))
        status, _, payload = post(server, {"model": "m", "messages": CALL_HISTORY})
        assert status == 500
        error = error_of(payload)
        assert (error["type"], error["code"], error["param"]) == (
            "internal_server_error",
            None,
            None,
        )
        assert error["message"].startswith("7 validation errors:\n  {'type': 'literal_error'")
        assert (
            "{'type': 'string_type', 'loc': ('body', 'messages', 1, "
            "'ChatCompletionRequestAssistantMessage', 'content'), 'msg': 'Input should be a "
            "valid string', 'input': None}" in error["message"]
        )
        empty = [*CALL_HISTORY[:1], {**CALL_HISTORY[1], "content": ""}, CALL_HISTORY[2]]
        omitted = [
            CALL_HISTORY[0],
            {"role": "assistant", "tool_calls": CALL_HISTORY[1]["tool_calls"]},
            CALL_HISTORY[2],
        ]
        assert post(server, {"model": "m", "messages": empty})[0] == 200
        assert post(server, {"model": "m", "messages": omitted})[0] == 200
        assert server.rejections == ["7 validation errors:"]
        assert server.served == 2  # the refused request took no reply


def test_null_content_is_fine_without_the_quirk(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="a"))
    assert post(server, {"model": "m", "messages": CALL_HISTORY})[0] == 200


def test_stream_options_rejected_by_quirk() -> None:
    with ScriptedServer(
        [ScriptedReply(text="ok")], quirks=ServerQuirks(reject_stream_options=True)
    ) as server:
        status, _, payload = post(
            server,
            {
                "model": "m",
                "messages": USER,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )
        assert status == 400
        assert error_of(payload)["message"] == (
            "Unrecognized request argument supplied: stream_options"
        )
        assert server.remaining == 1
        assert [c["choices"][0]["delta"].get("content") for c in stream(server)[1:2]] == ["ok"]


@pytest.mark.parametrize(
    ("mode", "without", "with_"),
    [("always", True, True), ("requested", False, True), ("never", False, False)],
)
def test_stream_usage_modes(mode: str, without: bool, with_: bool) -> None:
    with ScriptedServer(quirks=ServerQuirks(stream_usage=mode)) as server:
        server.add(ScriptedReply(text="a"), ScriptedReply(text="b"))
        plain = stream(server)
        asked = stream(server, stream_options={"include_usage": True})
    assert [any("usage" in c for c in plain), any("usage" in c for c in asked)] == [without, with_]


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


@pytest.mark.parametrize(
    ("form", "string_arguments", "written"),
    [
        (
            "fenced",
            False,
            'Reading.\n```json\n{\n  "name": "read_file",\n  "arguments": {\n    "path": "a"\n  }\n}\n```',
        ),
        (
            "tagged",
            False,
            'Reading.\n<tool_call>\n{"name": "read_file", "arguments": {"path": "a"}}\n</tool_call>',
        ),
        ("bare", True, 'Reading.\n{"name": "read_file", "arguments": "{\\"path\\": \\"a\\"}"}'),
    ],
)
def test_calls_written_as_text(form: str, string_arguments: bool, written: str) -> None:
    quirks = ServerQuirks(calls_as_text=form, string_arguments=string_arguments)
    reply = ScriptedReply(text="Reading.", tool_calls=(ScriptedCall("read_file", '{"path": "a"}'),))
    with ScriptedServer([reply, reply, reply], quirks=quirks) as server:
        chunks = stream(server, tools=TOOL_DEFS)
        _, _, payload = post(server, {"model": "m", "messages": USER, "tools": TOOL_DEFS})
        native = stream(server)  # no tools offered: the call stays native
    assert (text_of(chunks), tool_deltas(chunks)) == (written, [])
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    message = json.loads(payload)["choices"][0]
    assert (message["message"]["content"], message["finish_reason"]) == (written, "stop")
    assert "tool_calls" not in message["message"]
    assert assemble_calls(native) == [
        {"id": "call_3", "name": "read_file", "arguments": '{"path": "a"}'}
    ]


def test_a_models_request_ends_a_running_stream() -> None:
    reply = ScriptedReply(
        text="a long answer", chunk_size=2, stall_after_chunks=2, stall_seconds=30
    )
    with ScriptedServer([reply], quirks=ServerQuirks(models_ends_streams=True)) as server:
        result: list[bytes] = []
        worker = threading.Thread(
            target=lambda: result.append(
                post(server, {"model": "m", "messages": USER, "stream": True})[2]
            )
        )
        worker.start()
        assert server.wait_for_stall()
        assert get(server, "/v1/models")[0] == 200
        worker.join(timeout=10)
        assert not worker.is_alive() and server.models_requests == 1
    chunks, done = sse(result[0])
    assert done and text_of(chunks) == "a "  # the role chunk, one piece, then [DONE]
    assert not any(c["choices"][0]["finish_reason"] for c in chunks)


@pytest.mark.parametrize("overflow", ["error", "empty-stream"])
def test_a_request_over_the_context_window(overflow: str) -> None:
    big = user("word " * 200)
    with ScriptedServer(
        [ScriptedReply(text="fits")], context_window=100, quirks=ServerQuirks(overflow=overflow)
    ) as server:
        status, _, payload = post(
            server, {"model": "m", "messages": big, "stream": True, "max_tokens": 50}
        )
        if overflow == "empty-stream":
            assert (status, payload) == (200, b"")
        else:
            assert status == 400
            assert error_of(payload) == {
                "message": "This model's maximum context length is 100 tokens. However, you "
                "requested 308 tokens (258 in the messages, 50 in the completion). Please "
                "reduce the length of the messages or completion.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        status, _, payload = post(server, {"model": "m", "messages": big})
        assert status == 400 and error_of(payload)["code"] == "context_length_exceeded"
        assert text_of(stream(server)) == "fits"


def test_noise_between_chunks_and_extra_chunks(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(
            text="abcd",
            chunk_size=2,
            interleave=(": ping", "data:"),
            extra_chunks=({"choices": "not a list"},),
            usage=None,
        )
    )
    _, _, payload = post(server, {"model": "m", "messages": USER, "stream": True})
    events = raw_events(payload)
    assert events[1] == ": ping" and events[2] == "data:"
    assert json.loads(events[3][len("data: ") :]) == {"choices": "not a list"}
    assert [e for e in events if e.startswith("data: {")][-1].count('"finish_reason": "stop"') == 1
    assert events.count(": ping") == events.count("data:") == 4  # before each chunk but the first
    assert events[-1] == "data: [DONE]"


def test_keepalive_comments_during_a_stall(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(
            text="ab", chunk_size=1, stall_after_chunks=2, stall_seconds=1.0, keepalive_seconds=0.05
        )
    )
    events = raw_events(post(server, {"model": "m", "messages": USER, "stream": True})[2])
    pings = [i for i, e in enumerate(events) if e == ": keepalive"]
    assert len(pings) >= 2 and pings == list(range(2, 2 + len(pings)))
    assert events[-1] == "data: [DONE]"


def test_an_endless_stream_goes_on_until_the_client_leaves(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="la ", endless=True), ScriptedReply(text="next"))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(
        "POST",
        "/v1/chat/completions",
        body=json.dumps({"model": "m", "messages": USER, "stream": True}),
        headers={"Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    data = b""
    while len(data) < 200_000:
        data += resp.read1(65536)
    conn.close()
    assert data.count(b'"content": "la "') > 500 and b'finish_reason": "stop' not in data
    assert text_of(stream(server)) == "next"  # the server is still fine


def test_utf16_chunks_split_surrogate_pairs(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="Hi 😀!", chunk_size=4, utf16_chunks=True))
    _, _, payload = post(server, {"model": "m", "messages": USER, "stream": True})
    assert b'"content": "Hi \\ud83d"' in payload and b'"content": "\\ude00!"' in payload
    pieces = [c["choices"][0]["delta"].get("content") for c in sse(payload)[0][1:3]]
    assert pieces == ["Hi \ud83d", "\ude00!"]


def test_raw_error_body(server: ScriptedServer) -> None:
    server.add(ScriptedReply(status=502, raw_body="<html><title>502 Bad Gateway</title></html>"))
    status, resp, payload = post(server, {"model": "m", "messages": USER})
    assert (status, payload) == (502, b"<html><title>502 Bad Gateway</title></html>")
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8"


def test_new_reply_fields_round_trip() -> None:
    reply = ScriptedReply(
        text="x",
        interleave=(": ping", "data:"),
        extra_chunks=({"choices": 1}, [1, 2]),
        keepalive_seconds=0.5,
        endless=True,
        utf16_chunks=True,
        raw_body="<p>",
    )
    as_dict = reply_to_dict(reply)
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert reply_from_dict(as_dict) == reply
    with pytest.raises(ValueError, match="endless"):
        ScriptedReply(endless=True)


def test_quirks_by_name() -> None:
    assert parse_quirks("") == ServerQuirks()
    assert parse_quirks("llama-cpp-python") == LLAMA_CPP_PYTHON
    assert parse_quirks(
        "null_content_500,calls-as-text=tagged,stream_usage=never,string_arguments=false"
    ) == ServerQuirks(null_content_500=True, calls_as_text="tagged", stream_usage="never")
    with pytest.raises(ValueError, match="unknown quirk"):
        parse_quirks("nope")
    with pytest.raises(ValueError, match="calls_as_text"):
        parse_quirks("calls_as_text=yaml")


def test_subprocess_mode_with_quirks(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": "late"}]))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hermes.testing.scripted.server",
            "--script",
            str(script),
            "--quirks",
            "llama-cpp-python",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip().split(" ", 1)[1]
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(
            "POST",
            "/v1/chat/completions",
            body=json.dumps({"model": "m", "messages": CALL_HISTORY}),
            headers={"Content-Type": "application/json"},
        )
        assert conn.getresponse().status == 500
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
