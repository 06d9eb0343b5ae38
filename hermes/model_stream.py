"""Assembling streamed tool-call deltas into whole calls, whatever shape a provider sends.

Providers differ: ``index`` may be missing; ``id`` and ``name`` may come only in the
first chunk of a call or in every chunk; arguments may come whole or in pieces. The
name is set once and never concatenated; arguments are concatenated.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from hermes.messages import ToolCall


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
            out.append(ToolCall(id=call_id, name=part.name, arguments="".join(part.arguments)))
        return tuple(out)
