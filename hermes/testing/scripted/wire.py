"""Wire format of the scripted server: OpenAI-shaped chunks, completions and errors."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from hermes.testing.scripted.types import ScriptedCall, ScriptedReply, ServerQuirks

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


def prompt_tokens(body: dict[str, Any]) -> int:
    """The request's prompt tokens as this server counts them: ~4 characters a token."""
    chars = len(json.dumps(body.get("messages", []))) + len(json.dumps(body.get("tools", [])))
    return max(1, chars // 4)


def estimate_usage(body: dict[str, Any], reply: ScriptedReply) -> tuple[int, int]:
    """The reply's ``(prompt, completion)`` tokens: scripted, or ~4 characters a token."""
    if reply.usage is not None and reply.usage != (0, 0):
        return reply.usage
    completion_chars = len(reply.text) + len(reply.reasoning)
    completion_chars += sum(len(c.name) + len(c.arguments) for c in reply.tool_calls)
    return prompt_tokens(body), max(1, completion_chars // 4)


def null_content_error(body: dict[str, Any]) -> str | None:
    """llama-cpp-python's 500 message for an assistant message with ``content: null``
    (pydantic tries each message type of the union and lists why each failed)."""
    messages = body.get("messages")
    for i, m in enumerate(messages if isinstance(messages, list) else ()):
        if not (isinstance(m, dict) and m.get("role") == "assistant"):
            continue
        if "content" not in m or m["content"] is not None:
            continue
        loc = f"('body', 'messages', {i}, 'ChatCompletionRequest%sMessage', '%s')"
        errors = [
            f"{{'type': 'literal_error', 'loc': {loc % ('System', 'role')}, "
            "'msg': \"Input should be 'system'\", 'input': 'assistant'}",
            f"{{'type': 'literal_error', 'loc': {loc % ('User', 'role')}, "
            "'msg': \"Input should be 'user'\", 'input': 'assistant'}",
            f"{{'type': 'string_type', 'loc': {loc % ('Assistant', 'content')}, "
            "'msg': 'Input should be a valid string', 'input': None}",
            f"{{'type': 'literal_error', 'loc': {loc % ('Tool', 'role')}, "
            "'msg': \"Input should be 'tool'\", 'input': 'assistant'}",
            f"{{'type': 'missing', 'loc': {loc % ('Tool', 'tool_call_id')}, "
            "'msg': 'Field required'}",
            f"{{'type': 'literal_error', 'loc': {loc % ('Function', 'role')}, "
            "'msg': \"Input should be 'function'\", 'input': 'assistant'}",
            f"{{'type': 'missing', 'loc': {loc % ('Function', 'name')}, 'msg': 'Field required'}}",
        ]
        return (
            f"{len(errors)} validation errors:\n  "
            + "\n  ".join(errors)
            + '\n\n  File "llama_cpp/server/app.py", line 376, in create_chat_completion'
            + "\n    POST /v1/chat/completions"
        )
    return None


def overflow_error(body: dict[str, Any], context_window: int) -> str | None:
    """The 400 message of a request that does not fit ``context_window``, or None."""
    prompt = prompt_tokens(body)
    completion = body.get("max_tokens") or body.get("max_completion_tokens") or 0
    completion = completion if isinstance(completion, int) else 0
    if prompt + completion <= context_window:
        return None
    return (
        f"This model's maximum context length is {context_window} tokens. However, you "
        f"requested {prompt + completion} tokens ({prompt} in the messages, {completion} in "
        "the completion). Please reduce the length of the messages or completion."
    )


def _text_call(call: ScriptedCall, string_arguments: bool) -> dict[str, Any]:
    arguments: Any = call.arguments
    if not string_arguments:
        try:
            arguments = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError:
            pass  # invalid on purpose: written as the raw string
    return {"name": call.name, "arguments": arguments}


def as_text_calls(reply: ScriptedReply, quirks: ServerQuirks) -> ScriptedReply:
    """``reply`` with its calls written into the text the way ``quirks.calls_as_text``
    says (a server without a tool parser), finishing ``stop`` unless scripted otherwise."""
    form = quirks.calls_as_text
    if form is None or not reply.tool_calls:
        return reply
    objs = [_text_call(c, quirks.string_arguments) for c in reply.tool_calls]
    if form == "tagged":
        written = "\n".join(f"<tool_call>\n{json.dumps(o)}\n</tool_call>" for o in objs)
    elif form == "fenced":
        inner: Any = objs[0] if len(objs) == 1 else objs
        written = f"```json\n{json.dumps(inner, indent=2)}\n```"
    else:
        written = json.dumps(objs[0] if len(objs) == 1 else objs)
    text = f"{reply.text}\n{written}" if reply.text else written
    return dataclasses.replace(
        reply, text=text, tool_calls=(), finish_reason=reply.finish_reason or "stop"
    )


def usage_object(prompt: int, completion: int) -> dict[str, int]:
    """The ``usage`` object of a response."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _pieces(text: str, size: int, utf16: bool = False) -> list[str]:
    if not utf16:
        return [text[i : i + size] for i in range(0, len(text), size)]
    # Cut at UTF-16 code units, as a JavaScript server does: an astral character may be
    # split into two lone surrogates, which json.dumps sends as \\udXXX escapes.
    units = text.encode("utf-16-le")
    step = 2 * size
    return [
        units[i : i + step].decode("utf-16-le", "surrogatepass") for i in range(0, len(units), step)
    ]


def _call_deltas(
    reply: ScriptedReply, index: int, call: ScriptedCall, call_id: str
) -> Iterator[dict[str, Any]]:
    """The tool-call delta objects for one call, according to the reply's delta style."""
    style = reply.delta_style
    pieces = _pieces(call.arguments, reply.chunk_size, reply.utf16_chunks)
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
    include_usage: bool = True,
) -> list[Any]:
    """Every SSE chunk object of a streamed reply, in order (``[DONE]`` not included).

    Role chunk, the reply's ``extra_chunks``, reasoning deltas, content deltas, tool-call
    deltas, the finish chunk, then (when ``include_usage`` and ``usage`` is not ``None``)
    a usage chunk with ``choices: []``. ``ids`` are the call ids to send, one per
    scripted call.
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

    chunks: list[Any] = [chunk({"role": "assistant", "content": ""}), *reply.extra_chunks]
    size, utf16 = reply.chunk_size, reply.utf16_chunks
    chunks += [chunk({"reasoning_content": p}) for p in _pieces(reply.reasoning, size, utf16)]
    chunks += [chunk({"content": p}) for p in _pieces(reply.text, size, utf16)]
    for n, call in enumerate(reply.tool_calls):
        for delta in _call_deltas(reply, n, call, ids[n]):
            chunks.append(chunk({"tool_calls": [delta]}))
    chunks.append(chunk({}, reply.effective_finish_reason))
    if reply.usage is not None and include_usage:
        usage = chunk({})
        usage["choices"] = []
        usage["usage"] = usage_object(*estimate_usage(body, reply))
        if reply.cost is not None:
            usage["usage"]["cost"] = reply.cost
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
        if reply.cost is not None:
            out["usage"]["cost"] = reply.cost
    return out
