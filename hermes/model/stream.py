"""Assembling a stream: tool-call deltas into whole calls, UTF-16 halves into characters.

Providers differ: ``index`` may be missing; ``id`` and ``name`` may come only in the
first chunk of a call or in every chunk; arguments may come whole or in pieces. The
name is set once and never concatenated; arguments are concatenated.

Servers written in JavaScript cut text at UTF-16 code units, so an emoji can arrive as
``"\\ud83d"`` in one chunk and ``"\\ude00"`` in the next; each half alone cannot be
encoded (SQLite, the terminal), so halves are joined and a lone one becomes U+FFFD.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from hermes.messages import ToolCall
from hermes.model.base import VALID_TOOL_NAME

_SURROGATE = re.compile("[\ud800-\udfff]")


def fix_surrogates(text: str) -> str:
    """``text`` with surrogate pairs joined into their characters and lone halves
    replaced by U+FFFD, so it encodes as UTF-8."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class SurrogateJoiner:
    """Streams text pieces, holding back a high surrogate that ends a piece until the
    next piece (which may start with its low half)."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        """The part of ``self``'s input so far that can be shown, as valid text."""
        text = self._held + piece
        self._held = ""
        if text and "\ud800" <= text[-1] <= "\udbff":
            self._held, text = text[-1], text[:-1]
        return fix_surrogates(text)

    def flush(self) -> str:
        """What is still held at the end of the stream (a lone half: U+FFFD)."""
        held, self._held = self._held, ""
        return fix_surrogates(held)


def split_calls(
    calls: Sequence[ToolCall],
) -> tuple[tuple[ToolCall, ...], tuple[ToolCall, ...]]:
    """``(valid, rejected)``: calls whose name the strict API accepts, and the rest."""
    valid = tuple(c for c in calls if VALID_TOOL_NAME.match(c.name))
    rejected = tuple(c for c in calls if not VALID_TOOL_NAME.match(c.name))
    return valid, rejected


@dataclass
class _Partial:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CallDelta:
    """One tool-call fragment from one streamed chunk."""

    index: int | None = None
    id: str | None = None
    name: str | None = None
    arguments: str | None = None


class ToolCallAssembler:
    """Collects :class:`CallDelta` fragments in arrival order."""

    def __init__(self) -> None:
        self._by_index: dict[int, _Partial] = {}
        self._order: list[_Partial] = []

    def _start(self) -> _Partial:
        part = _Partial()
        self._order.append(part)
        return part

    def _target(self, delta: CallDelta) -> _Partial:
        if delta.index is not None:
            part = self._by_index.get(delta.index)
            if part is None or (delta.id and part.id and delta.id != part.id):
                part = self._start()
                self._by_index[delta.index] = part
            return part
        last = self._order[-1] if self._order else None
        if last is None:
            return self._start()
        if delta.id and last.id and delta.id != last.id:
            return self._start()
        if delta.name and last.name and not delta.id and delta.name != last.name:
            return self._start()
        return last

    def add(self, delta: CallDelta) -> None:
        part = self._target(delta)
        if delta.id and not part.id:
            part.id = delta.id
        if delta.name and not part.name:
            part.name = delta.name
        if delta.arguments:
            part.arguments.append(delta.arguments)

    def __bool__(self) -> bool:
        return bool(self._order)

    def calls(self) -> tuple[ToolCall, ...]:
        """The assembled calls, with empty or repeated ids replaced by unique ones."""
        seen: set[str] = set()
        out = []
        for part in self._order:
            call_id = part.id
            if not call_id or call_id in seen:
                call_id = f"call_{secrets.token_hex(6)}"
            seen.add(call_id)
            name, arguments = fix_surrogates(part.name), fix_surrogates("".join(part.arguments))
            out.append(ToolCall(id=call_id, name=name, arguments=arguments))
        return tuple(out)
