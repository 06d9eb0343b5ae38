"""Ctrl+T: the whole session as plain text, every call with its full arguments and output.

Like Codex's transcript or Claude Code's Ctrl+O: nothing collapsed or cut, one read-only
text you can scroll, select and copy from, and search (Ctrl+F or ``/``; Enter for the
next match, Shift+Enter for the previous; the match is selected). Esc or Ctrl+T closes.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static, TextArea
from textual.widgets.text_area import Selection

from hermes.frontends.common.search import entry_text
from hermes.frontends.common.transcript import Entry


def transcript_text(entries: Sequence[Entry]) -> str:
    """Every entry in full, separated by a blank line."""
    parts = [entry_text(e) for e in entries]
    return "\n\n".join(p for p in parts if p)


class TranscriptView(Screen[None]):
    """The session as one searchable text."""

    DEFAULT_CSS = """
    TranscriptView {
        layout: vertical;
    }
    TranscriptView > #transcript-title {
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", show=False),
        Binding("ctrl+t", "close", "Close", show=False, priority=True),
        Binding("ctrl+f", "find", "Find", show=False, priority=True),
        Binding("slash", "find", "Find", show=False),
    ]

    def __init__(self, entries: Sequence[Entry], title: str = "") -> None:
        super().__init__()
        self.text = transcript_text(entries)
        self._lowered = self.text.lower()
        self._title = title
        self.matches: list[int] = []
        self.index = -1
        self._area = TextArea(
            self.text,
            read_only=True,
            soft_wrap=False,
            show_line_numbers=False,
            highlight_cursor_line=False,
            id="transcript-text",
        )
        self._search = Input(placeholder="find in the transcript", id="transcript-search")

    def compose(self) -> ComposeResult:
        lines = self.text.count("\n") + 1 if self.text else 0
        title = Text("transcript", style="bold")
        if self._title:
            title.append(f"  {self._title}")
        title.append(f"  {lines:,} lines · Ctrl+F or / find · Esc closes", style="dim")
        yield Static(title, id="transcript-title")
        yield self._area
        yield self._search

    def on_mount(self) -> None:
        self._search.display = False
        self._area.focus()
        self._area.move_cursor(self._area.document.end)
        self._area.scroll_cursor_visible()

    def action_close(self) -> None:
        """Back to the conversation."""
        self.dismiss(None)

    def action_find(self) -> None:
        """Open the search field."""
        self._search.display = True
        self._search.focus()

    def find(self, query: str) -> int:
        """Search for ``query`` and select the last match; returns how many there are."""
        needle = query.lower()
        self.matches = []
        if needle:
            pos = self._lowered.find(needle)
            while pos >= 0:
                self.matches.append(pos)
                pos = self._lowered.find(needle, pos + len(needle))
        self.index = len(self.matches) - 1
        self._select(len(needle))
        return len(self.matches)

    def step(self, direction: int) -> None:
        """The next (``+1``) or previous (``-1``) match, wrapping around."""
        if self.matches:
            self.index = (self.index + direction) % len(self.matches)
            self._select(len(self._search.value))

    def _select(self, length: int) -> None:
        if not self.matches:
            self._search.border_title = None
            return
        start = self._location(self.matches[self.index])
        end = self._location(self.matches[self.index] + length)
        self._area.selection = Selection(start, end)
        self._area.scroll_cursor_visible(center=True)

    def _location(self, offset: int) -> tuple[int, int]:
        row = self.text.count("\n", 0, offset)
        line_start = self.text.rfind("\n", 0, offset) + 1
        return row, offset - line_start

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.find(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.step(+1)

    def on_key(self, event: events.Key) -> None:
        if self.focused is not self._search:
            return
        if event.key == "shift+enter" or event.key == "up":
            self.step(-1)
        elif event.key == "down":
            self.step(+1)
        elif event.key == "escape":
            self._search.display = False
            self._area.focus()
        else:
            return
        event.stop()
        event.prevent_default()
