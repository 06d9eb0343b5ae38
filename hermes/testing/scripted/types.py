"""Data types of the scripted model server: replies, calls, received requests.

The scripted server (:mod:`hermes.testing.scripted.server`) plays
:class:`ScriptedReply` objects in order, or asks a :data:`ScriptFn` for each one.
Replies can also be written as JSON objects with the same field names (see
:func:`reply_from_dict`) so a server in another process can be scripted from a file.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

DELTA_STYLES: tuple[str, ...] = ("standard", "no-index", "repeat", "whole")
"""Ways of splitting streamed tool calls into deltas (see :attr:`ScriptedReply.delta_style`)."""
TEXT_CALL_FORMS: tuple[str, ...] = ("fenced", "tagged", "bare")
"""How a server without a tool parser writes calls (see :attr:`ServerQuirks.calls_as_text`)."""
STREAM_USAGE: tuple[str, ...] = ("always", "requested", "never")
"""When a streamed reply carries usage (see :attr:`ServerQuirks.stream_usage`)."""
OVERFLOW: tuple[str, ...] = ("error", "empty-stream")
"""How a request over the context window is answered (see :attr:`ServerQuirks.overflow`)."""


@dataclass(frozen=True)
class ServerQuirks:
    """Behaviours of real OpenAI-compatible servers that a client must survive.

    ``null_content_500``: an assistant message with ``"content": null`` is answered 500
    with a pydantic validation error (llama-cpp-python; ``""`` or no key is fine).
    ``reject_stream_options``: a request with ``stream_options`` is answered 400 naming it.
    ``stream_usage``: ``"always"`` sends a usage chunk in every stream, ``"requested"``
    only with ``stream_options.include_usage`` (OpenAI), ``"never"`` (llama-cpp-python).
    ``calls_as_text``: with ``tools`` in the request, scripted calls are written as text
    (``"fenced"`` in a ```` ```json ```` block as Qwen does, ``"tagged"`` in
    ``<tool_call>`` blocks, ``"bare"`` as a JSON object) and the reply finishes ``stop``;
    ``string_arguments`` writes their ``arguments`` as a JSON-encoded string.
    ``models_ends_streams``: a ``GET /models`` during a stream ends that stream with
    ``[DONE]`` before its next chunk (llama-cpp-python). ``overflow``: a request whose
    prompt (~4 characters a token) plus ``max_tokens`` exceeds ``context_window`` is
    answered 400 ``context_length_exceeded`` (``"error"``), or when streamed with an empty
    200 body (``"empty-stream"``, llama-cpp-python); None does not check.
    """

    null_content_500: bool = False
    reject_stream_options: bool = False
    stream_usage: str = "always"
    calls_as_text: str | None = None
    string_arguments: bool = False
    models_ends_streams: bool = False
    overflow: str | None = None

    def __post_init__(self) -> None:
        if self.stream_usage not in STREAM_USAGE:
            raise ValueError(f"stream_usage must be one of {STREAM_USAGE}")
        if self.calls_as_text is not None and self.calls_as_text not in TEXT_CALL_FORMS:
            raise ValueError(f"calls_as_text must be one of {TEXT_CALL_FORMS} or None")
        if self.overflow is not None and self.overflow not in OVERFLOW:
            raise ValueError(f"overflow must be one of {OVERFLOW} or None")


LLAMA_CPP_PYTHON = ServerQuirks(
    null_content_500=True,
    stream_usage="never",
    calls_as_text="fenced",
    models_ends_streams=True,
    overflow="empty-stream",
)
"""llama-cpp-python's ``llama_cpp.server`` (0.3.x) with a model lacking a tool parser, as
measured: the quirks of issue 20."""
QUIRK_PRESETS: dict[str, ServerQuirks] = {"llama-cpp-python": LLAMA_CPP_PYTHON}


@dataclass(frozen=True)
class ScriptedCall:
    """One tool call the scripted model makes.

    ``arguments`` is raw text sent as-is (it may be invalid JSON on purpose).
    ``id=None`` lets the server generate ``call_<n>``; ``id=""`` sends an empty id.
    """

    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True)
class ScriptedReply:
    """One model response, and how the server delivers it.

    Content: ``text``, ``tool_calls``, ``reasoning`` (sent as ``delta.reasoning_content``
    before the text), ``finish_reason`` (``None`` means ``"tool_calls"`` when there are
    calls, else ``"stop"``) and ``usage`` (``(prompt, completion)``; ``(0, 0)`` asks the
    server to estimate both; ``None`` sends no usage at all).

    Delivery: ``chunk_size`` characters per content/arguments delta; ``delta_style`` for
    tool calls (``"standard"``, ``"no-index"``, ``"repeat"``, ``"whole"``); a non-200
    ``status`` answers with an OpenAI-style JSON error (``text`` becomes its message when
    given) and ``retry_after`` as the ``Retry-After`` header; ``cut_after_chunks`` closes
    the stream abruptly after N SSE chunks; ``stall_after_chunks`` pauses for
    ``stall_seconds`` after N chunks; ``delay_seconds`` waits before the first byte and
    ``chunk_delay_seconds`` between chunks.

    Hostile streams: ``interleave`` raw SSE lines (``": ping"``, an empty ``"data:"``)
    written as events before every chunk but the first; ``extra_chunks`` JSON values sent
    as ``data:`` events right after the role chunk (a non-list ``choices``, malformed
    usage); ``keepalive_seconds`` writes a ``": keepalive"`` comment that often during a
    stall; ``endless`` repeats the text forever instead of finishing; ``utf16_chunks`` cuts
    text at UTF-16 code units as JavaScript servers do, so an emoji may be split into
    two escaped surrogate halves in consecutive chunks (call arguments too);
    ``raw_body`` with a non-200 ``status`` is sent as-is as ``text/html`` instead of the
    JSON error (a proxy's error page).
    """

    text: str = ""
    tool_calls: tuple[ScriptedCall, ...] = ()
    reasoning: str = ""
    finish_reason: str | None = None
    usage: tuple[int, int] | None = (0, 0)
    chunk_size: int = 8
    delta_style: str = "standard"
    status: int = 200
    retry_after: float | None = None
    cut_after_chunks: int | None = None
    stall_after_chunks: int | None = None
    stall_seconds: float = 0.0
    delay_seconds: float = 0.0
    chunk_delay_seconds: float = 0.0
    interleave: tuple[str, ...] = ()
    extra_chunks: tuple[Any, ...] = ()
    keepalive_seconds: float = 0.0
    endless: bool = False
    utf16_chunks: bool = False
    raw_body: str | None = None
    cost: float | None = None  # sent as ``usage.cost`` (USD), as OpenRouter reports it

    def __post_init__(self) -> None:
        if self.delta_style not in DELTA_STYLES:
            raise ValueError(f"delta_style must be one of {DELTA_STYLES}, not {self.delta_style!r}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, not {self.chunk_size}")
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")
        for name in ("cut_after_chunks", "stall_after_chunks"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, not {value}")
        for name in ("tool_calls", "interleave", "extra_chunks"):
            if not isinstance(getattr(self, name), tuple):
                # A list would make the frozen dataclass unhashable; normalise it.
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.endless and not self.text:
            raise ValueError("an endless reply needs text to repeat")

    @property
    def effective_finish_reason(self) -> str:
        """The finish reason sent: the explicit one, else ``tool_calls`` or ``stop``."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


@dataclass(frozen=True)
class ChatRequest:
    """A chat-completions request as the server received it.

    ``body`` is the parsed JSON body (``{}`` when it was not a JSON object),
    ``raw_size`` its size in bytes, ``index`` the 0-based count of chat requests
    received, ``headers`` the request headers with lower-cased names (so
    ``"authorization" in req.headers`` tells whether an API key was sent).
    """

    body: dict[str, Any]
    raw_size: int
    index: int
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The request's ``messages`` list (empty if missing or malformed)."""
        value = self.body.get("messages")
        return value if isinstance(value, list) else []

    @property
    def stream(self) -> bool:
        """Whether the client asked for a streamed (SSE) response."""
        return self.body.get("stream") is True


ScriptFn = Callable[[ChatRequest], ScriptedReply]
"""A function choosing the reply to each valid chat request (called from server threads)."""


_REPLY_FIELDS = {f.name: f for f in dataclasses.fields(ScriptedReply)}
_CALL_FIELDS = {f.name for f in dataclasses.fields(ScriptedCall)}


def call_from_dict(d: Mapping[str, Any]) -> ScriptedCall:
    """Build a :class:`ScriptedCall` from ``{"name", "arguments", "id"?}``.

    Non-string ``arguments`` (an object or list) are JSON-encoded for convenience.
    """
    unknown = set(d) - _CALL_FIELDS
    if unknown:
        raise ValueError(f"unknown tool call field(s): {', '.join(sorted(unknown))}")
    if "name" not in d:
        raise ValueError("a tool call needs a 'name'")
    arguments = d.get("arguments", "")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    call_id = d.get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise ValueError(f"tool call id must be a string or null, not {call_id!r}")
    return ScriptedCall(name=str(d["name"]), arguments=arguments, id=call_id)


def reply_from_dict(d: Mapping[str, Any]) -> ScriptedReply:
    """Build a :class:`ScriptedReply` from a JSON-style object with the same field names.

    ``tool_calls`` is a list of objects (see :func:`call_from_dict`), ``usage`` a
    two-item list or ``null``. Missing fields take their defaults; unknown fields are
    an error so that typos in script files do not pass silently.
    """
    unknown = set(d) - set(_REPLY_FIELDS)
    if unknown:
        raise ValueError(f"unknown reply field(s): {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = dict(d)
    if "tool_calls" in kwargs:
        kwargs["tool_calls"] = tuple(call_from_dict(c) for c in kwargs["tool_calls"] or ())
    for name in ("interleave", "extra_chunks"):
        if name in kwargs:
            kwargs[name] = tuple(kwargs[name] or ())
    if kwargs.get("usage") is not None:
        usage = kwargs["usage"]
        if len(usage) != 2:
            raise ValueError(f"usage must be [prompt, completion] or null, not {usage!r}")
        kwargs["usage"] = (int(usage[0]), int(usage[1]))
    return ScriptedReply(**kwargs)


def reply_to_dict(reply: ScriptedReply) -> dict[str, Any]:
    """The JSON-ready form of a reply: only fields that differ from their defaults.

    ``reply_from_dict(reply_to_dict(r)) == r`` for every reply.
    """
    out: dict[str, Any] = {}
    for name, f in _REPLY_FIELDS.items():
        value = getattr(reply, name)
        if value == f.default:
            continue
        if name == "tool_calls":
            if not value:
                continue
            value = [
                {"name": c.name, "arguments": c.arguments} | ({} if c.id is None else {"id": c.id})
                for c in value
            ]
        elif name in ("usage", "interleave", "extra_chunks") and value is not None:
            value = list(value)
        out[name] = value
    return out


def load_script(path: str | Path) -> list[ScriptedReply]:
    """Read a script file: a JSON list of reply objects (or ``{"replies": [...]}``)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict) and "replies" in data:
        data = data["replies"]
    if not isinstance(data, list):
        raise ValueError(f"{path}: a script is a JSON list of reply objects")
    replies = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError(f"{path}: reply {i} is not an object")
        try:
            replies.append(reply_from_dict(item))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: reply {i}: {exc}") from exc
    return replies


class ScriptOwner(Protocol):
    """What the HTTP handler needs from the server that owns the script."""

    model: str
    context_window: int | None
    validate: bool
    quirks: ServerQuirks

    @property
    def stopping(self) -> bool: ...

    def register_request(
        self, body: dict[str, Any], raw_size: int, headers: dict[str, str]
    ) -> ChatRequest: ...

    def note(self, kind: str, message: str) -> None: ...

    def next_reply(self, request: ChatRequest) -> tuple[ScriptedReply, list[str]]: ...

    def reached_stall(self) -> None: ...

    def sleep(self, seconds: float) -> bool: ...

    def track(self, conn: Any, opened: bool) -> None: ...

    def stream_opened(self) -> threading.Event: ...

    def stream_closed(self, ended: threading.Event) -> None: ...

    def models_listed(self) -> None: ...

    def logged(self, method: str, path: str, status: int) -> None: ...
