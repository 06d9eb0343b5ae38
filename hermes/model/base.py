"""What every model backend is: the ``ModelClient`` interface, its reply, its errors, and
what a client learns about its endpoint."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

from hermes.config import ModelConfig
from hermes.messages import Message, ToolCall, Usage
from hermes.tokens import MESSAGE_OVERHEAD, REPLY_PRIMING, TOOL_CALL_OVERHEAD, estimate_tokens

TextSink = Callable[[str], None]
RetrySink = Callable[[int, float, str], None]

VALID_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""What the strict chat-completions API accepts as a function name."""


class ModelError(Exception):
    """The model request failed for good; the message says why and what to do."""

    def __init__(
        self,
        message: str,
        *,
        retries: int = 0,
        request_bytes: int = 0,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retries = retries
        self.request_bytes = request_bytes
        self.status = status


class ModelAuthError(ModelError):
    """The endpoint refused the credentials (401/403): retrying cannot help."""


class ModelContextOverflow(ModelError):
    """The request does not fit the model's context window (400 ``context_length_exceeded``
    or a message saying so). Not retried: fold or digest the history and ask again."""


class ModelEmptyStream(ModelError):
    """The endpoint twice answered 200 with a stream holding no event at all.

    llama.cpp's servers answer a prompt larger than their context window this way when
    streaming; when the request was near or over the budget, treat it as
    :class:`ModelContextOverflow`.
    """


@dataclass(frozen=True)
class ModelReply:
    """One complete reply: text, tool calls, why it ended, usage and how it went.

    ``rejected_calls`` are calls the model made with an empty or invalid name (not
    matching :data:`VALID_TOOL_NAME`): never run or stored as calls, because the strict
    API rejects every later request that carries one; answer them as a repair (see
    :func:`rejected_calls_note`). ``warnings`` are things worth telling the user that did
    not fail the request (malformed usage or choices, a reply cut by the local cap, a
    quirk learned).
    """

    content: str
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str
    usage: Usage | None
    reasoning: str = ""
    retries: int = 0
    latency_ms: float = 0.0
    request_bytes: int = 0
    rejected_calls: tuple[ToolCall, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def truncated(self) -> bool:
        """Cut off by the output limit: its tool calls must not run."""
        return self.finish_reason == "length"


@dataclass(frozen=True)
class EndpointProfile:
    """What a client has learned about its endpoint; None means not known yet.

    ``stream_options``: does it accept ``stream_options`` (False after a 400 naming it).
    ``usage_reported``: did its last streamed reply carry usage. ``calls_as_text``: does
    the model write tool calls as text (True once a reply was nothing but such a call;
    False once it sent native ``tool_calls``).
    """

    stream_options: bool | None = None
    usage_reported: bool | None = None
    calls_as_text: bool | None = None

    def to_dict(self) -> dict[str, bool]:
        """The known facts only (for a cache)."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EndpointProfile:
        """Parse :meth:`to_dict` output; unknown keys and non-booleans are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known and isinstance(v, bool)})


def chat_request_body(
    config: ModelConfig,
    messages: Sequence[Message],
    tools: Sequence[dict[str, Any]],
    *,
    stream_options: bool = True,
) -> dict[str, Any]:
    """The chat-completions JSON body for ``messages`` and ``tools`` under ``config``;
    ``stream_options=False`` leaves out the usage request (for servers that reject it)."""
    body: dict[str, Any] = {
        "model": config.name,
        "messages": [m.to_openai() for m in messages],
        "stream": config.stream,
    }
    if stream_options and config.stream:
        body["stream_options"] = {"include_usage": True}
    if tools:
        body["tools"] = list(tools)
    # Only when configured: sending the context window as max_tokens breaks vLLM.
    if config.max_output_tokens is not None:
        body["max_tokens"] = config.max_output_tokens
    if config.temperature is not None:
        body["temperature"] = config.temperature
    return body


def estimate_usage(
    messages: Sequence[Message],
    tools: Sequence[dict[str, Any]],
    reply: ModelReply,
    count: Callable[[str], int] = estimate_tokens,
) -> Usage:
    """Usage counted locally for a server that reported none, marked as an estimate."""
    prompt = REPLY_PRIMING
    for m in messages:
        prompt += MESSAGE_OVERHEAD + count(m.role) + (count(m.content) if m.content else 0)
        for call in m.tool_calls:
            prompt += TOOL_CALL_OVERHEAD + count(call.name) + count(call.arguments)
    for tool in tools:
        prompt += count(json.dumps(tool, separators=(",", ":"), ensure_ascii=False))
    completion = count(reply.content) + count(reply.reasoning)
    for call in (*reply.tool_calls, *reply.rejected_calls):
        completion += TOOL_CALL_OVERHEAD + count(call.name) + count(call.arguments)
    return Usage(prompt, completion, estimated=True)


def rejected_calls_note(calls: Sequence[ToolCall]) -> str:
    """What to tell the model about calls it made with an empty or invalid name, so it
    can make them again properly (the text of a repair message)."""
    names = ", ".join(repr(c.name) for c in calls)
    return (
        f"Your reply contained {len(calls)} tool call(s) with an empty or invalid function "
        f"name ({names}); they were not run. Call a tool by its exact name from the tools "
        "offered (letters, digits, '_' and '-' only), or answer without a tool."
    )


class ModelClient(Protocol):
    """A model backend: streams one reply at a time for a list of messages and tools."""

    config: ModelConfig

    @property
    def calls_as_text(self) -> bool:
        """Are tool calls read from the reply's text (configured, detected, or always)?"""
        ...

    def with_model(self, name: str) -> ModelClient:
        """A client for another model name (``/model``)."""
        ...

    def request_body(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """The request as JSON (what the audit log records and sizes)."""
        ...

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        on_text: TextSink | None = None,
        on_reasoning: TextSink | None = None,
        on_retry: RetrySink | None = None,
        max_tokens: int | None = None,
    ) -> ModelReply:
        """Stream one reply; text goes to ``on_text`` as it arrives. ``max_tokens``
        caps this reply below ``model.max_output_tokens`` (a compaction summary)."""
        ...

    async def list_models(self) -> list[dict[str, Any]]:
        """The endpoint's model entries (empty when it has none)."""
        ...

    async def aclose(self) -> None:
        """Release what the client holds (connections, running generations)."""
        ...
