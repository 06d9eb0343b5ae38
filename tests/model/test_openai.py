"""The chat-completions client against the scripted server taught real servers' quirks
and hostile streams (issue 20, findings 1, 5, 6, 7, 11, 12, 13)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from collections.abc import Sequence
from typing import Any

import httpx2
import pytest

from hermes.config import ModelConfig
from hermes.messages import Message, ToolCall, Usage
from hermes.model.base import (
    EndpointProfile,
    ModelAuthError,
    ModelContextOverflow,
    ModelEmptyStream,
    ModelError,
    ModelReply,
    estimate_usage,
    rejected_calls_note,
)
from hermes.model.openai import MAX_STREAM_CHARS, ChatCompletionsClient, stream_char_cap
from hermes.testing.scripted.server import (
    LLAMA_CPP_PYTHON,
    ScriptedCall,
    ScriptedReply,
    ScriptedServer,
    ServerQuirks,
)
from hermes.testing.scripted.wire import null_content_error

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"the {name} tool",
            "parameters": {"type": "object", "properties": {arg: {"type": "string"}}},
        },
    }
    for name, arg in (("read_file", "path"), ("terminal", "command"))
]
HI = [Message("user", "hi")]
LEARNED_TEXT_CALLS = (
    "the model writes tool calls as text; reading them from text from now on "
    "(set model.text_tool_calls to decide)"
)
TEXT_CALL_ID = re.compile(r"^call_[0-9a-f]{12}$")


def make_client(server: ScriptedServer, **model: Any) -> ChatCompletionsClient:
    config = ModelConfig(
        name="scripted-model",
        base_url=server.base_url,
        retry_base_delay=0.01,
        retry_max_delay=0.05,
        **model,
    )
    return ChatCompletionsClient(config, "test-key")


def size(
    client: ChatCompletionsClient,
    messages: Sequence[Message] = HI,
    tools: Sequence[dict[str, Any]] = (),
) -> int:
    return len(json.dumps(client.request_body(messages, tools), ensure_ascii=False).encode())


def settled(reply: ModelReply) -> ModelReply:
    """The reply without what varies by run: latency, and the random ids of text calls."""
    calls = tuple(
        dataclasses.replace(c, id="call_text") if TEXT_CALL_ID.match(c.id) else c
        for c in reply.tool_calls
    )
    return dataclasses.replace(reply, latency_ms=0.0, tool_calls=calls)


class Run:
    """One ``complete`` call with what it showed and the retries it reported."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.retries: list[tuple[int, str]] = []

    async def __call__(
        self,
        client: ChatCompletionsClient,
        messages: Sequence[Message] = HI,
        tools: Sequence[dict[str, Any]] = (),
    ) -> ModelReply:
        reply = await client.complete(
            messages,
            tools,
            on_text=self.shown.append,
            on_retry=lambda n, delay, reason: self.retries.append((n, reason)),
        )
        return settled(reply)


async def test_usage_reported_by_the_server_is_not_an_estimate(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="hello", usage=(12, 3)))
    client = make_client(server)
    reply = await Run()(client)
    assert reply == ModelReply(
        content="hello",
        tool_calls=(),
        finish_reason="stop",
        usage=Usage(12, 3),
        request_bytes=size(client),
    )
    assert client.profile == EndpointProfile(usage_reported=True)


# -- finding 1: content "" (never null) beside tool calls ----------------------------------


async def test_calls_in_history_are_sent_with_empty_content_not_null() -> None:
    history = [
        Message("user", "read a"),
        Message("assistant", None, (ToolCall("c1", "read_file", '{"path": "a"}'),)),
        Message("tool", "alpha", tool_call_id="c1"),
    ]
    with ScriptedServer(
        [ScriptedReply(text="It says alpha.")], quirks=ServerQuirks(null_content_500=True)
    ) as server:
        reply = await Run()(make_client(server), history, TOOLS)
        assert reply.content == "It says alpha."
        assert server.requests[0].messages[1] == {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": '{"path": "a"}'},
                }
            ],
        }
        assert server.rejections == []


# -- finding 5: usage when the server is silent ----------------------------------------------


async def test_usage_is_estimated_when_the_server_sends_none() -> None:
    with ScriptedServer(
        [ScriptedReply(text="hello there")], quirks=ServerQuirks(stream_usage="never")
    ) as server:
        client = make_client(server)
        reply = await Run()(client, HI, TOOLS)
    bare = ModelReply("hello there", (), "stop", None)
    assert reply == ModelReply(
        content="hello there",
        tool_calls=(),
        finish_reason="stop",
        usage=estimate_usage(HI, TOOLS, bare),
        request_bytes=size(client, HI, TOOLS),
    )
    assert reply.usage is not None and reply.usage.estimated
    assert reply.usage.completion_tokens == 3 and reply.usage.prompt_tokens > 40  # tools count
    assert client.profile == EndpointProfile(usage_reported=False)


async def test_usage_asked_for_with_stream_options() -> None:
    with ScriptedServer(
        [ScriptedReply(text="ok", usage=(5, 1))], quirks=ServerQuirks(stream_usage="requested")
    ) as server:
        reply = await Run()(make_client(server))
        assert server.requests[0].body["stream_options"] == {"include_usage": True}
    assert reply.usage == Usage(5, 1)


async def test_a_server_rejecting_stream_options_is_asked_again_without_and_remembered() -> None:
    quirks = ServerQuirks(reject_stream_options=True, stream_usage="requested")
    with ScriptedServer(
        [ScriptedReply(text="one", usage=(9, 9)), ScriptedReply(text="two", usage=(9, 9))],
        quirks=quirks,
    ) as server:
        client = make_client(server)
        run = Run()
        first = await run(client)
        second = await run(client)
        sent = [r.body for r in server.requests]
        assert server.rejections == ["Unrecognized request argument supplied: stream_options"]
    assert [("stream_options" in body) for body in sent] == [True, False, False]
    assert run.retries == []  # an adaptation, not a failure
    estimate = estimate_usage(HI, (), ModelReply("one", (), "stop", None))
    assert first == ModelReply(
        content="one",
        tool_calls=(),
        finish_reason="stop",
        usage=estimate,
        request_bytes=size(client),
        warnings=(
            "the endpoint rejects stream_options; asking without it (usage is estimated "
            "when the server reports none)",
        ),
    )
    assert second == dataclasses.replace(first, content="two", warnings=())
    assert client.profile == EndpointProfile(stream_options=False, usage_reported=False)
    assert client.with_model("other").profile == EndpointProfile(stream_options=False)


def test_usage_round_trips_with_its_estimate_mark() -> None:
    for usage in (Usage(10, 2), Usage(10, 2, estimated=True)):
        assert Usage.from_dict(usage.to_dict()) == usage
    assert Usage(10, 2).to_dict() == {
        "prompt_tokens": 10,
        "completion_tokens": 2,
        "total_tokens": 12,
    }
    assert Usage(1, 2, True) + Usage(3, 4) == Usage(4, 6, True)
    profile = EndpointProfile(stream_options=False, calls_as_text=True)
    assert EndpointProfile.from_dict(profile.to_dict()) == profile
    assert profile.to_dict() == {"stream_options": False, "calls_as_text": True}


# -- finding 6: only retryable errors are retried, with a short message ------------------------


@pytest.mark.parametrize("status", [429, 408, 409, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried(server: ScriptedServer, status: int) -> None:
    server.add(ScriptedReply(status=status, text="try later"), ScriptedReply(text="ok"))
    run = Run()
    reply = await run(make_client(server))
    assert (reply.content, reply.retries) == ("ok", 1)
    assert len(run.retries) == 1 and "try later" in run.retries[0][1]


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (400, ModelError, "the endpoint rejected the request (400): bad thing"),
        (401, ModelAuthError, "refused the API key (401: bad thing)"),
        (403, ModelAuthError, "refused the API key (403: bad thing)"),
        (404, ModelError, "answered 404 (bad thing)"),
        (422, ModelError, "the endpoint rejected the request (422): bad thing"),
        (501, ModelError, "the endpoint does not implement chat completions (501): bad thing"),
    ],
)
async def test_final_statuses_are_not_retried(
    server: ScriptedServer, status: int, kind: type[ModelError], says: str
) -> None:
    server.add(ScriptedReply(status=status, text="bad thing"), ScriptedReply(text="never"))
    run = Run()
    with pytest.raises(kind) as caught:
        await run(make_client(server))
    assert says in str(caught.value)
    assert (type(caught.value), caught.value.status, caught.value.retries) == (kind, status, 0)
    assert len(server.requests) == 1 and run.retries == []


async def test_a_500_validation_error_is_not_retried_and_is_summarised(
    server: ScriptedServer,
) -> None:
    # What llama-cpp-python answers to content: null (which hermes no longer sends).
    null_content = {"messages": [{"role": "user"}, {"role": "assistant", "content": None}]}
    message = null_content_error(null_content)
    assert message is not None
    server.add(ScriptedReply(status=500, text=message), ScriptedReply(text="never"))
    run = Run()
    with pytest.raises(ModelError) as caught:
        await run(make_client(server))
    assert str(caught.value) == (
        "the endpoint rejected the request (500): 7 validation errors: messages.1.content: "
        "Input should be a valid string; messages.1.role: Input should be 'system'; "
        "messages.1.role: Input should be 'user'; messages.1.role: Input should be 'tool';…"
    )
    assert run.retries == [] and caught.value.retries == 0 and len(server.requests) == 1


async def test_an_html_error_page_becomes_one_short_line(server: ScriptedServer) -> None:
    page = (
        "<html>\n<head><title>502 Bad Gateway</title><style>body{color:red}</style></head>\n"
        "<body><center><h1>502 Bad Gateway</h1></center>"
        + "<p>padding</p>" * 300
        + "<hr><center>nginx</center></body></html>"
    )
    server.add(*[ScriptedReply(status=502, raw_body=page) for _ in range(3)])
    run = Run()
    with pytest.raises(ModelError) as caught:
        await run(make_client(server, max_retries=2))
    assert (
        str(caught.value)
        == "model request failed after 3 attempts: server error 502: 502 Bad Gateway"
    )
    assert [r for _, r in run.retries] == ["server error 502: 502 Bad Gateway"] * 2


async def test_a_long_error_message_is_capped(server: ScriptedServer) -> None:
    server.add(ScriptedReply(status=400, text="x" * 5000))
    with pytest.raises(ModelError) as caught:
        await Run()(make_client(server))
    assert str(caught.value) == "the endpoint rejected the request (400): " + "x" * 199 + "…"


async def test_a_name_that_does_not_resolve_is_not_retried() -> None:
    attempts: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts.append(str(request.url))
        raise httpx2.ConnectError("[Errno -2] Name or service not known", request=request)

    config = ModelConfig(base_url="http://no-such-host.invalid/v1", retry_base_delay=0.01)
    client = ChatCompletionsClient(config, "k")
    client.use_http_client(httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))
    with pytest.raises(ModelError) as caught:
        await client.complete(HI, ())
    assert str(caught.value) == (
        "cannot reach http://no-such-host.invalid/v1: [Errno -2] Name or service not known. "
        "Check model.base_url (--base-url)."
    )
    assert attempts == ["http://no-such-host.invalid/v1/chat/completions"]


async def test_a_reset_connection_and_a_cut_stream_are_retried(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(text="never sent", cut_after_chunks=0),
        ScriptedReply(text="half of this is sent", chunk_size=4, cut_after_chunks=3),
        ScriptedReply(text="whole"),
    )
    run = Run()
    reply = await run(make_client(server))
    assert (reply.content, reply.retries, len(run.retries)) == ("whole", 2, 2)
    assert "".join(run.shown).endswith("whole")


async def test_context_overflow_is_recognised_not_retried() -> None:
    quirks = ServerQuirks(overflow="error")
    with ScriptedServer([ScriptedReply(text="x")], context_window=100, quirks=quirks) as server:
        with pytest.raises(ModelContextOverflow) as caught:
            await Run()(make_client(server), [Message("user", "word " * 400)])
        assert len(server.requests) == 1
    assert str(caught.value) == (
        "the request does not fit the model's context window (400): This model's maximum "
        "context length is 100 tokens. However, you requested 508 tokens (508 in the messages, "
        "0 in the completion). Please reduce the length of the messages or completion."
    )
    assert (caught.value.status, caught.value.retries) == (400, 0)


async def test_an_empty_stream_twice_is_its_own_error() -> None:
    with ScriptedServer(
        [ScriptedReply(text="x")], context_window=100, quirks=LLAMA_CPP_PYTHON
    ) as server:
        run = Run()
        with pytest.raises(ModelEmptyStream) as caught:
            await run(make_client(server), [Message("user", "word " * 400)])
        assert len(server.requests) == 2
        assert str(caught.value) == (
            f"{server.base_url} answered with an empty stream twice (llama.cpp servers do this "
            "when the request does not fit the context window)"
        )
    assert caught.value.retries == 1
    assert run.retries[0][1] == "the endpoint answered with an empty stream"


# -- finding 7: calls written as text ---------------------------------------------------------

READ_A = ScriptedCall("read_file", '{"path": "a.txt"}')


@pytest.mark.parametrize("form", ["fenced", "tagged", "bare"])
@pytest.mark.parametrize("string_arguments", [False, True])
async def test_configured_text_calls_in_every_form(form: str, string_arguments: bool) -> None:
    quirks = ServerQuirks(calls_as_text=form, string_arguments=string_arguments)
    with ScriptedServer(
        [ScriptedReply(text="Let me look.", tool_calls=(READ_A,), chunk_size=3)], quirks=quirks
    ) as server:
        client = make_client(server, text_tool_calls=True)
        run = Run()
        reply = await run(client, HI, TOOLS)
    assert dataclasses.replace(reply, usage=None) == ModelReply(
        content="Let me look.",
        tool_calls=(ToolCall("call_text", "read_file", '{"path": "a.txt"}'),),
        finish_reason="tool_calls",
        usage=None,
        request_bytes=size(client, HI, TOOLS),
    )
    assert "".join(run.shown).rstrip() == "Let me look."


async def test_calls_as_text_are_detected_then_read_from_text_with_the_stream_filtered() -> None:
    with ScriptedServer(
        [
            ScriptedReply(tool_calls=(READ_A,), chunk_size=5),
            ScriptedReply(text="Next.", tool_calls=(READ_A,), chunk_size=5),
        ],
        quirks=ServerQuirks(calls_as_text="fenced", string_arguments=True),
    ) as server:
        client = make_client(server)
        assert client.calls_as_text is False
        first_run, second_run = Run(), Run()
        first = await first_run(client, HI, TOOLS)
        assert client.calls_as_text is True
        second = await second_run(client, HI, TOOLS)
    call = ToolCall("call_text", "read_file", '{"path": "a.txt"}')
    assert dataclasses.replace(first, usage=None) == ModelReply(
        content="",
        tool_calls=(call,),
        finish_reason="tool_calls",
        usage=None,
        request_bytes=size(client, HI, TOOLS),
        warnings=(LEARNED_TEXT_CALLS,),
    )
    assert "```json" in "".join(first_run.shown)  # streamed before it was known to be a call
    assert dataclasses.replace(second, usage=None) == dataclasses.replace(
        first, content="Next.", usage=None, warnings=()
    )
    assert "".join(second_run.shown).rstrip() == "Next."
    assert client.profile.calls_as_text is True


async def test_detection_needs_the_whole_reply_to_be_a_call() -> None:
    with ScriptedServer(
        [ScriptedReply(text="I would run:", tool_calls=(READ_A,))],
        quirks=ServerQuirks(calls_as_text="bare"),
    ) as server:
        client = make_client(server)
        reply = await Run()(client, HI, TOOLS)
    assert reply.tool_calls == () and reply.content.startswith("I would run:\n{")
    assert client.calls_as_text is False


async def test_text_calls_false_overrides_detection() -> None:
    with ScriptedServer(
        [ScriptedReply(tool_calls=(READ_A,))], quirks=ServerQuirks(calls_as_text="tagged")
    ) as server:
        client = make_client(server, text_tool_calls=False)
        reply = await Run()(client, HI, TOOLS)
    assert reply.tool_calls == () and reply.content.startswith("<tool_call>")
    assert client.calls_as_text is False and client.profile.calls_as_text is None


async def test_native_calls_mark_the_endpoint_native(server: ScriptedServer) -> None:
    server.add(ScriptedReply(tool_calls=(READ_A,)))
    client = make_client(server)
    reply = await Run()(client, HI, TOOLS)
    assert reply.tool_calls == (ToolCall("call_1", "read_file", '{"path": "a.txt"}'),)
    assert client.profile.calls_as_text is False and client.calls_as_text is False


# -- findings 11-13: hostile streams ----------------------------------------------------------


async def test_keepalives_do_not_extend_the_request_deadline(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(
            text="starts then only pings",
            stall_after_chunks=2,
            stall_seconds=60,
            keepalive_seconds=0.05,
        )
    )
    client = make_client(server, request_deadline=1.0, stream_idle_timeout=30)
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        await asyncio.wait_for(Run()(client), 30)
    assert time.monotonic() - started < 25  # far below the stall: the deadline ended it
    assert str(caught.value) == (
        f"no complete reply from {server.base_url} within 1 s (model.request_deadline)"
    )
    assert (caught.value.retries, len(server.requests)) == (0, 1)
    await client.aclose()


async def test_comments_empty_data_lines_and_other_fields_are_ignored(
    server: ScriptedServer,
) -> None:
    server.add(
        ScriptedReply(
            text="clean text despite the noise",
            chunk_size=4,
            interleave=(": ping", "data:", "data: ", "event: message", "id: 7", "retry: 100"),
        )
    )
    run = Run()
    reply = await run(make_client(server))
    assert (reply.content, reply.retries, reply.warnings) == ("clean text despite the noise", 0, ())
    assert "".join(run.shown) == reply.content


async def test_an_endless_stream_is_cut_by_the_local_cap(server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="lorem ipsum ", chunk_size=6, endless=True))
    client = make_client(server, max_output_tokens=10)
    run = Run()
    reply = await asyncio.wait_for(run(client), 30)
    cap = stream_char_cap(client.config)
    assert cap == 160 and server.requests[0].body["max_tokens"] == 10
    assert dataclasses.replace(reply, usage=None) == ModelReply(
        content=("lorem ipsum " * 14)[:162],
        tool_calls=(),
        finish_reason="length",
        usage=None,
        request_bytes=size(client),
        warnings=(
            "the reply passed the local cap of 160 characters and was cut (model.max_output_tokens)",
        ),
    )
    assert reply.usage is not None and reply.usage.estimated
    assert "".join(run.shown) == reply.content


def test_the_default_cap_is_two_million_characters() -> None:
    assert stream_char_cap(ModelConfig()) == MAX_STREAM_CHARS == 2_000_000
    assert stream_char_cap(ModelConfig(max_output_tokens=1000)) == 16_000


async def test_surrogate_halves_in_separate_chunks_are_joined(server: ScriptedServer) -> None:
    text = "Hi 😀 there, 🎉!"
    args = '{"path": "🐍.py"}'
    server.add(
        ScriptedReply(
            text=text,
            tool_calls=(ScriptedCall("read_file", args),),
            chunk_size=4,
            utf16_chunks=True,
        )
    )
    run = Run()
    reply = await run(make_client(server), HI, TOOLS)
    assert (reply.content, reply.tool_calls) == (text, (ToolCall("call_1", "read_file", args),))
    assert "".join(run.shown) == text
    for piece in run.shown:
        piece.encode("utf-8")  # every piece shown is valid text


async def test_a_lone_surrogate_becomes_a_replacement_character(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(
            text="ok",
            extra_chunks=({"choices": [{"index": 0, "delta": {"content": "a\ud83d"}}]},),
        )
    )
    reply = await Run()(make_client(server))
    assert reply.content == "a\ufffdok"


async def test_malformed_usage_and_choices_are_warnings_not_failures(
    server: ScriptedServer,
) -> None:
    server.add(
        ScriptedReply(
            text="still fine",
            usage=None,
            extra_chunks=(
                {"choices": {"index": 0, "delta": {"content": "lost"}}},
                {"choices": ["nonsense"]},
                {"choices": [], "usage": {"prompt_tokens": "many", "completion_tokens": None}},
                ["not", "an", "object"],
            ),
        )
    )
    reply = await Run()(make_client(server))
    bare = ModelReply("still fine", (), "stop", None)
    assert reply == ModelReply(
        content="still fine",
        tool_calls=(),
        finish_reason="stop",
        usage=estimate_usage(HI, (), bare),
        request_bytes=reply.request_bytes,
        warnings=(
            "ignored malformed choices in the stream: \"{'index': 0, 'delta': {'content': 'lost'}}\"",
            "ignored a malformed choice in the stream: 'nonsense'",
            "ignored malformed usage from the server: \"{'prompt_tokens': 'many', "
            "'completion_tokens': None}\"",
            "ignored a stream chunk that is not an object: \"['not', 'an', 'object']\"",
        ),
    )


async def test_numeric_strings_in_usage_are_read(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(
            text="x",
            usage=None,
            extra_chunks=(
                {"choices": [], "usage": {"prompt_tokens": "7", "completion_tokens": 2.0}},
            ),
        )
    )
    assert (await Run()(make_client(server))).usage == Usage(7, 2)


async def test_calls_with_empty_or_invalid_names_are_rejected_not_returned(
    server: ScriptedServer,
) -> None:
    server.add(
        ScriptedReply(
            tool_calls=(
                ScriptedCall("", "{}", id="e1"),
                READ_A,
                ScriptedCall("read file!", '{"path": "b"}', id="e2"),
                ScriptedCall("x" * 65, "{}", id="e3"),
            )
        )
    )
    reply = await Run()(make_client(server), HI, TOOLS)
    rejected = (
        ToolCall("e1", "", "{}"),
        ToolCall("e2", "read file!", '{"path": "b"}'),
        ToolCall("e3", "x" * 65, "{}"),
    )
    assert (reply.tool_calls, reply.rejected_calls, reply.finish_reason) == (
        (ToolCall("call_1", "read_file", '{"path": "a.txt"}'),),
        rejected,
        "tool_calls",
    )
    assert rejected_calls_note(rejected).startswith(
        "Your reply contained 3 tool call(s) with an empty or invalid function name "
        f"('', 'read file!', '{'x' * 65}'); they were not run."
    )


async def test_an_error_event_mid_stream_is_retried(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(text="x", extra_chunks=({"error": {"message": "overloaded"}},)),
        ScriptedReply(text="fine"),
    )
    run = Run()
    reply = await run(make_client(server))
    assert reply.content == "fine"
    assert run.retries == [(1, "the stream reported an error: overloaded")]


def test_text_tool_calls_is_auto_unless_set_by_file_env_or_flag(tmp_path: Any) -> None:
    from hermes.config import ConfigError, Overrides, load_config, parse_config

    assert ModelConfig().text_tool_calls is None
    assert parse_config({"model": {"text_tool_calls": False}}, "t").model.text_tool_calls is False
    assert parse_config({"model": {"text_tool_calls": None}}, "t").model.text_tool_calls is None
    loaded = [
        load_config(tmp_path, Overrides(text_tool_calls=flag), env).model.text_tool_calls
        for flag, env in (
            (None, {"HERMES_TEXT_TOOL_CALLS": "true"}),
            (None, {"HERMES_TEXT_TOOL_CALLS": "off"}),
            ("auto", {"HERMES_TEXT_TOOL_CALLS": "true"}),
            ("yes", {}),
        )
    ]
    assert loaded == [True, False, None, True]
    with pytest.raises(ConfigError, match="HERMES_TEXT_TOOL_CALLS: must be auto, true or false"):
        load_config(tmp_path, env={"HERMES_TEXT_TOOL_CALLS": "maybe"})
    with pytest.raises(ConfigError, match="request_deadline"):
        parse_config({"model": {"request_deadline": 0}}, "t")


# -- streaming off (model.stream: false) ---------------------------------------------------


async def test_a_whole_reply_without_streaming_carries_text_calls_and_usage(
    server: ScriptedServer,
) -> None:
    server.add(
        ScriptedReply(
            text="Reading both.",
            tool_calls=[
                ScriptedCall("read_file", {"path": "a"}, id="c1"),
                ScriptedCall("read_file", {"path": "b"}, id="c2"),
            ],
            usage=(20, 5),
        )
    )
    client = make_client(server, stream=False)
    run = Run()
    reply = await run(client, HI, TOOLS)
    assert reply == ModelReply(
        content="Reading both.",
        tool_calls=(
            ToolCall("c1", "read_file", '{"path": "a"}'),
            ToolCall("c2", "read_file", '{"path": "b"}'),
        ),
        finish_reason="tool_calls",
        usage=Usage(20, 5),
        request_bytes=size(client, HI, TOOLS),
    )
    assert run.shown == ["Reading both."]
    body = server.requests[0].body
    assert body["stream"] is False and "stream_options" not in body


async def test_a_whole_reply_error_is_reported_like_a_streamed_one(server: ScriptedServer) -> None:
    server.add(ScriptedReply(status=404, text="no such model"))
    with pytest.raises(ModelError, match="answered 404"):
        await Run()(make_client(server, stream=False))
    assert server.served == 1
