"""Ending a local model's reply right after its tool calls.

Small models often go on after a call ("I have called read_file, now..."), and a call
followed by prose is plain text to :mod:`hermes.text_tool_calls` (on purpose: it must
never fire on prose). So generation watches its own text: once a ``<tool_call>`` block
has closed, what follows is held back and the reply ends unless it is another call;
a bare JSON call (``{"name": ..., "arguments": ...}`` on its own line, for a tool that
is offered) ends the reply where it closes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection

from hermes.text_tool_calls import parse_text_tool_calls

_OPEN, _CLOSE = "<tool_call>", "</tool_call>"
_LINE_BRACE = re.compile(r"(?:\A|\n)[ \t]*\{")
_DECODER = json.JSONDecoder()


class CallTail:
    """Feeds generated text through; says when the reply should stop."""

    def __init__(self, known: Collection[str] = ()) -> None:
        self.known = known
        self.text = ""
        self.sent = 0
        self.stopped = False

    def _release(self, upto: int) -> str:
        out = self.text[self.sent : upto]
        self.sent = max(self.sent, upto)
        return out

    def _stop_at(self, end: int) -> str:
        self.stopped = True
        self.text = self.text[:end]
        return self._release(end)

    def _bare_call_end(self) -> int | None:
        """Where the first bare JSON call closes, if one has."""
        for m in _LINE_BRACE.finditer(self.text):
            start = m.end() - 1
            if self.text.count("```", 0, start) % 2:
                continue  # inside a code block: an example
            try:
                _, end = _DECODER.raw_decode(self.text, start)
            except json.JSONDecodeError:
                continue
            if parse_text_tool_calls(self.text[start:end], self.known) is not None:
                return end
        return None

    def feed(self, piece: str) -> str:
        """Add generated text; returns what may be passed on now."""
        self.text += piece
        close = self.text.rfind(_CLOSE)
        opened = self.text.rfind(_OPEN, 0, max(close, 0))
        at_line_start = opened >= 0 and (opened == 0 or self.text[opened - 1] == "\n")
        if close >= 0 and at_line_start and self.text.rfind(_OPEN) < close:
            after = close + len(_CLOSE)
            rest = self.text[after:].lstrip()
            if not rest or _OPEN.startswith(rest):
                return self._release(after)
            return self._stop_at(after)
        if self.known and "}" in piece and _OPEN not in self.text:
            end = self._bare_call_end()
            if end is not None:
                return self._stop_at(end)
        return self._release(len(self.text))

    def finish(self) -> str:
        """What was held back, when the reply ends by itself."""
        return self._release(len(self.text))
