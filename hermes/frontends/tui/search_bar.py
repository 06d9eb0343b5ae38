"""Ctrl+F: search the whole conversation, step through the matches, see them highlighted.

The bar sits above the input. Typing searches every entry of the session (the full
text: a call's arguments and output too), newest match first; Enter or Down goes to the
next older match, Shift+Enter or Up to the newer one; the view jumps there, loading
history as needed, and every match on screen is highlighted. Esc closes the bar and
clears the highlights.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from hermes.frontends.common.search import ConversationSearch, Hit
from hermes.frontends.tui.conversation import Conversation


class SearchBar(Horizontal):
    """The search field and ``3 of 17``."""

    class Closed(Message):
        """Esc: the bar is gone; the input takes the keys again."""

    def __init__(self, conversation: Conversation, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.conversation = conversation
        self.search = ConversationSearch()
        self.hits: list[Hit] = []
        self.index = -1
        self.needle = ""
        self._field = Input(placeholder="search the conversation", id="search-field")
        self._count = Static("", classes="search-count")

    def compose(self) -> ComposeResult:
        yield Static(Text("find ", style="bold"), classes="search-count")
        yield self._field
        yield self._count

    def open(self) -> None:
        """Show the bar and take the keys (the last query stays, selected)."""
        self.display = True
        self._field.focus()
        if self._field.value:
            self._field.select_all()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.run_worker(self.run(event.value), group="search", exclusive=True)

    async def run(self, query: str) -> None:
        """Search for ``query`` and show its newest match."""
        self.needle = query
        entries = self.conversation.transcript.entries
        self.hits = self.search.find(entries, query) if query else []
        self.index = len(self.hits) - 1
        await self._show()

    async def step(self, direction: int) -> None:
        """The next older (``+1``) or newer (``-1``) match, wrapping around."""
        if not self.hits:
            return
        self.index = (self.index - direction) % len(self.hits)
        await self._show()

    async def _show(self) -> None:
        entries = self.conversation.transcript.entries
        if not self.hits:
            self.conversation.set_query(self.needle, None)
            self._count.update(Text(" no match" if self.needle else "", style="dim"))
            return
        hit = self.hits[self.index]
        entry = entries[hit.index] if hit.index < len(entries) else None
        self.conversation.set_query(self.needle, entry)
        n = len(self.hits)
        self._count.update(Text(f" {n - self.index} of {n}  ↑↓ · esc", style="dim"))
        await self.conversation.show_entry(hit.index)

    async def close(self) -> None:
        """Hide the bar and the highlights."""
        self.display = False
        self.conversation.set_query("", None)
        self.post_message(self.Closed())

    def on_key(self, event: events.Key) -> None:
        # Workers: moving the view waits for its layout, which a handler must not block.
        key = event.key
        if key in ("enter", "down", "ctrl+f"):
            self.run_worker(self.step(+1), group="search", exclusive=True)
        elif key in ("shift+enter", "up"):
            self.run_worker(self.step(-1), group="search", exclusive=True)
        elif key == "escape":
            self.run_worker(self.close(), group="search", exclusive=True)
        else:
            return
        event.stop()
        event.prevent_default()
