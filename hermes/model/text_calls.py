"""Tool calls written as text, by small local models and servers without a tool parser.

Recognized forms, only at the END of a reply (the whole reply or its tail) and only for
known tool names:

- ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (one or more blocks)
- a fenced block: ```` ```json {"name": ..., "arguments": {...}} ``` ````
- a bare JSON object ``{"name": ..., "arguments": {...}}``

``arguments`` (or ``parameters``) must be an object or a JSON string holding one (kept
as it is when that string is a broken object, so the model hears its arguments are
invalid instead of seeing its call printed as the answer); the
object may also come in the API's own shape, ``{"type": "function", "function": {...}}``.
Anything else stays text: JSON in the middle of prose, code that mentions a tool, an
unknown name, a call followed by more prose.

:func:`parse_whole_text_call` is the strict form used to detect, on an endpoint not
configured either way, that its model writes calls as text: the whole reply is calls.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from hermes.messages import ToolCall
from hermes.model.base import ModelReply, TextSink

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_FENCE = re.compile(
    r"```(?i:json|tool_call|tool_code|tool)?[ \t]*\r?\n(.*?)\r?\n?```\s*\Z", re.DOTALL
)
_OPENERS = ("<tool_call>", "```", "{")


@dataclass(frozen=True)
class TextCalls:
    """What a reply said before its calls, and the calls."""

    text: str
    calls: tuple[ToolCall, ...]


def _call_from(obj: Any, known: Collection[str]) -> ToolCall | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict) and set(obj) <= {"function", "id", "type"}:
        obj = obj["function"]  # the API's own shape, copied from the tool definitions
    name = obj.get("name")
    if not isinstance(name, str) or name not in known:
        return None
    if set(obj) - {"name", "arguments", "parameters", "id", "type"}:
        return None
    args: Any = obj.get("arguments", obj.get("parameters", {}))
    call_id = f"call_{secrets.token_hex(6)}"
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            if not args.lstrip().startswith("{"):
                return None
            # A call whose encoded arguments are broken (unescaped quotes, as small models
            # write): kept as a call, so the model is told its arguments are invalid.
            return ToolCall(call_id, name, args)
    if not isinstance(args, dict):
        return None
    return ToolCall(call_id, name, json.dumps(args, ensure_ascii=False))


def _json_object(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _tagged_tail(text: str, known: Collection[str]) -> TextCalls | None:
    matches = list(_TAGGED.finditer(text))
    if not matches or text[matches[-1].end() :].strip():
        return None
    # The calls must be consecutive blocks forming the tail.
    start = matches[-1].start()
    tail = [matches[-1]]
    for m in reversed(matches[:-1]):
        if text[m.end() : start].strip():
            break
        tail.insert(0, m)
        start = m.start()
    calls = []
    for m in tail:
        call = _call_from(_json_object(m.group(1)), known)
        if call is None:
            return None
        calls.append(call)
    return TextCalls(text[:start].rstrip(), tuple(calls))


def _fenced_tail(text: str, known: Collection[str]) -> TextCalls | None:
    m = _FENCE.search(text)
    if m is None:
        return None
    body = m.group(1).strip()
    obj = _json_object(body)
    items = obj if isinstance(obj, list) and obj else [obj]
    calls = [_call_from(item, known) for item in items]
    if any(c is None for c in calls):
        return None
    return TextCalls(text[: m.start()].rstrip(), tuple(c for c in calls if c is not None))


def _bare_tail(text: str, known: Collection[str]) -> TextCalls | None:
    stripped = text.rstrip()
    if not stripped.endswith("}"):
        return None
    # Try each "{" that starts a line (or the reply) as the start of the tail object.
    for m in re.finditer(r"(?:\A|\n)[ \t]*(\{)", stripped):
        start = m.start(1)
        if stripped.count("```", 0, start) % 2:
            continue  # inside an unclosed code block: an example, not a call
        call = _call_from(_json_object(stripped[start:]), known)
        if call is not None:
            return TextCalls(stripped[:start].rstrip(), (call,))
    return None


def parse_text_tool_calls(text: str, known: Collection[str]) -> TextCalls | None:
    """The calls written at the end of ``text``, or None when it is just text."""
    if not known or not text.strip():
        return None
    return _tagged_tail(text, known) or _fenced_tail(text, known) or _bare_tail(text, known)


def parse_whole_text_call(text: str, known: Collection[str]) -> tuple[ToolCall, ...] | None:
    """The calls when ``text`` is nothing but calls to ``known`` tools written as text
    (no prose before or after), else None."""
    parsed = parse_text_tool_calls(text, known)
    if parsed is None or parsed.text.strip():
        return None
    return parsed.calls


class TextCallStream:
    """Streams text to the screen while holding back what might be a call at the end.

    ``feed`` returns the text that is safe to show now: everything before the last
    place a call could start. ``finish`` returns the final split of the whole reply.
    """

    def __init__(self, known: Collection[str]) -> None:
        self._known = known
        self._buffer: list[str] = []
        self._shown = 0

    def _hold_from(self, text: str) -> int:
        """Index of the earliest point that could open a trailing call."""
        candidates = [text.find("<tool_call>", self._shown)]
        fence = text.find("```", self._shown)
        candidates.append(fence)
        for m in re.finditer(r"(?:\A|\n)[ \t]*\{", text[self._shown :]):
            candidates.append(self._shown + m.end() - 1)
            break
        held = [c for c in candidates if c >= 0]
        # A partial opener at the very end ("<tool_", "``") must wait too.
        for opener in _OPENERS:
            for k in range(1, len(opener)):
                if text.endswith(opener[:k]) and len(text) - k >= self._shown:
                    held.append(len(text) - k)
        return min(held) if held else len(text)

    @staticmethod
    def _closed_end(text: str, at: int) -> int | None:
        """Where a construct opened at ``at`` closes, if it already has."""
        if text.startswith("<tool_call>", at):
            end = text.find("</tool_call>", at)
            return None if end < 0 else end + len("</tool_call>")
        if text.startswith("```", at):
            close = text.find("\n```", at + 3)
            if close < 0:
                return None
            newline = text.find("\n", close + 4)
            return None if newline < 0 else newline
        try:
            _, end = json.JSONDecoder().raw_decode(text, at)
        except json.JSONDecodeError:
            return None
        return end

    @staticmethod
    def _may_continue_calls(rest: str) -> bool:
        """Is ``rest`` (after a closed construct) empty or the start of another call?"""
        rest = rest.lstrip()
        return not rest or any(o.startswith(rest[: len(o)]) for o in _OPENERS)

    def feed(self, piece: str) -> str:
        self._buffer.append(piece)
        text = "".join(self._buffer)
        out: list[str] = []
        while True:
            hold = self._hold_from(text)
            end = self._closed_end(text, hold) if hold < len(text) else None
            if end is not None and not self._may_continue_calls(text[end:]):
                out.append(text[self._shown : end])  # closed and followed by prose
                self._shown = end
                continue
            if hold > self._shown:
                out.append(text[self._shown : hold])
                self._shown = hold
            return "".join(out)

    def finish(self) -> tuple[str, TextCalls | None]:
        """(text not yet shown, the parsed calls or None)."""
        text = "".join(self._buffer)
        parsed = parse_text_tool_calls(text, self._known)
        if parsed is None:
            return text[self._shown :], None
        rest = parsed.text[self._shown :] if len(parsed.text) > self._shown else ""
        return rest, parsed


def filtered(stream: TextCallStream, sink: TextSink) -> TextSink:
    """Show streamed text except what may turn out to be a call written as text."""

    def feed(piece: str) -> None:
        shown = stream.feed(piece)
        if shown:
            sink(shown)

    return feed


def with_text_calls(reply: ModelReply, stream: TextCallStream, sink: TextSink | None) -> ModelReply:
    """Turn a call written as text into a proper tool call (native calls win)."""
    rest, parsed = stream.finish()
    if rest and sink is not None:
        sink(rest)
    if reply.tool_calls or parsed is None or reply.truncated:
        return reply
    return replace(reply, content=parsed.text, tool_calls=parsed.calls, finish_reason="tool_calls")
