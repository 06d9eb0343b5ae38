"""Wire format of the scripted server: OpenAI-shaped chunks, completions and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hermes.testing.scripted_types import ScriptedCall, ScriptedReply

_ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    409: ("conflict", None),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", None),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "gateway_timeout"),
}

_DEFAULT_MESSAGES: dict[int, str] = {
    400: "Bad request.",
    401: "Incorrect API key provided.",
    403: "You are not allowed to use this model.",
    404: "The model does not exist or you do not have access to it.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "Gateway timeout.",
}


def error_body(
    status: int,
    message: str | None = None,
    *,
    param: str | None = None,
    code: str | None = None,
    error_type: str | None = None,
) -> dict[str, Any]:
    """An OpenAI-style error object ``{"error": {"message", "type", "param", "code"}}``."""
    default_type, default_code = _ERROR_TYPES.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {
        "error": {
            "message": message or _DEFAULT_MESSAGES.get(status, f"HTTP error {status}."),
            "type": error_type or default_type,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }


def estimate_usage(body: dict[str, Any], reply: ScriptedReply) -> tuple[int, int]:
    """The reply's ``(prompt, completion)`` tokens: scripted, or ~4 characters a token."""
    if reply.usage is not None and reply.usage != (0, 0):
        return reply.usage
    prompt_chars = len(json.dumps(body.get("messages", []))) + len(
        json.dumps(body.get("tools", []))
    )
    completion_chars = len(reply.text) + len(reply.reasoning)
    completion_chars += sum(len(c.name) + len(c.arguments) for c in reply.tool_calls)
    return max(1, prompt_chars // 4), max(1, completion_chars // 4)


def usage_object(prompt: int, completion: int) -> dict[str, int]:
    """The ``usage`` object of a response."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _call_deltas(
    reply: ScriptedReply, index: int, call: ScriptedCall, call_id: str
) -> Iterator[dict[str, Any]]:
    """The tool-call delta objects for one call, according to the reply's delta style."""
    style = reply.delta_style
    pieces = _pieces(call.arguments, reply.chunk_size)
    if style == "whole":
        yield {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
    elif style == "repeat":
        for piece in pieces or [""]:
            yield {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": piece},
            }
    else:
        head: dict[str, Any] = {
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        if style == "standard":
            head = {"index": index, **head}
        yield head
        for piece in pieces:
            delta: dict[str, Any] = {"function": {"arguments": piece}}
            if style == "standard":
                delta = {"index": index, **delta}
            yield delta


def stream_chunks(
    reply: ScriptedReply,
    body: dict[str, Any],
    *,
    ids: list[str],
    model: str,
    request_index: int,
    created: int,
) -> list[dict[str, Any]]:
    """Every SSE chunk object of a streamed reply, in order (``[DONE]`` not included).

    Role chunk, reasoning deltas, content deltas, tool-call deltas, the finish chunk,
    then (unless ``usage`` is ``None``) a usage chunk with ``choices: []``. ``ids``
    are the call ids to send, one per scripted call.
    """
    completion_id = f"chatcmpl-scripted-{request_index}"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"reasoning_content": p}) for p in _pieces(reply.reasoning, reply.chunk_size)]
    chunks += [chunk({"content": p}) for p in _pieces(reply.text, reply.chunk_size)]
    for n, call in enumerate(reply.tool_calls):
        for delta in _call_deltas(reply, n, call, ids[n]):
            chunks.append(chunk({"tool_calls": [delta]}))
    chunks.append(chunk({}, reply.effective_finish_reason))
    if reply.usage is not None:
        usage = chunk({})
        usage["choices"] = []
        usage["usage"] = usage_object(*estimate_usage(body, reply))
        chunks.append(usage)
    return chunks


def completion_object(
    reply: ScriptedReply,
    body: dict[str, Any],
    *,
    ids: list[str],
    model: str,
    request_index: int,
    created: int,
) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` object of a reply."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text if reply.text or not reply.tool_calls else None,
        "refusal": None,
    }
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": ids[n],
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for n, c in enumerate(reply.tool_calls)
        ]
    out: dict[str, Any] = {
        "id": f"chatcmpl-scripted-{request_index}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.effective_finish_reason,
            }
        ],
    }
    if reply.usage is not None:
        out["usage"] = usage_object(*estimate_usage(body, reply))
    return out
