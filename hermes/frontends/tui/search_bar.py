"""Ctrl+F: search the whole conversation, step through the matches, see them highlighted.

The bar sits above the input. Typing searches every entry of the session (the full
text: a call's arguments and output too), newest match first; Enter or Down goes to the
next older match, Shift+Enter or Up to the newer one; the view jumps there, loading
history as needed, and every match on screen is highlighted. Esc closes the bar and
clears the highlights.

Only the latest query is searched: the search gives the event loop a turn every few
hundred entries, and a key typed meanwhile cancels it and searches again, so a query
typed (or pasted) fast costs one search over the session, not one per character. The
match count is drawn as soon as it is known; then the view moves to the match.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

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

    def __init__(
        self, conversation: Conversation, *, cursor_blink: bool = True, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.conversation = conversation
        self.search = ConversationSearch()
        self.hits: list[Hit] = []
        self.index = -1
        self.needle = ""
        self._field = Input(placeholder="search the conversation", id="search-field")
        self._field.cursor_blink = cursor_blink
        self._count = Static("", classes="search-count")

    def compose(self) -> ComposeResult:
        yield Static(Text("find ", style="bold"), classes="search-count")
        yield self._field
        yield self._count

    def open(self) -> None:
        """Show the bar and take the keys (the last query stays, selected)."""
        # PageUp/PageDown presses still waiting would hold the screen up while the query
        # is typed; the search moves the view from here on.
        self.conversation.stop_paging()
        self.display = True
        self._field.focus()
        if self._field.value:
            self._field.select_all()
        # While the query is being typed, the texts to search are made ready.
        entries = self.conversation.transcript.entries
        self._work(partial(self.search.prepare, entries), group="search-prepare")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._work(partial(self.run, event.value))  # a newer query cancels this one

    async def run(self, query: str) -> None:
        """Search for ``query``, draw its match count, then show its newest match."""
        entries = self.conversation.transcript.entries
        hits = await self.search.find_soon(entries, query)
        self.needle = query
        self.hits = hits
        self.index = len(hits) - 1
        self._draw_count()
        await self._painted()  # the count is on screen before the view moves
        await self._show()

    async def step(self, direction: int) -> None:
        """The next older (``+1``) or newer (``-1``) match, wrapping around."""
        if not self.hits:
            return
        self.index = (self.index - direction) % len(self.hits)
        self._draw_count()
        await self._show()

    def _draw_count(self) -> None:
        if not self.hits:
            self._count.update(Text(" no match" if self.needle else "", style="dim"))
            return
        n = len(self.hits)
        self._count.update(Text(f" {n - self.index} of {n}  ↑↓ · esc", style="dim"))

    async def _painted(self) -> None:
        """Wait until the screen has been drawn once more."""
        drawn: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def done() -> None:
            if not drawn.done():
                drawn.set_result(None)

        self.call_after_refresh(done)
        await drawn

    async def _show(self) -> None:
        """Highlight the matches; bring the current one into view."""
        entries = self.conversation.transcript.entries
        if not self.hits:
            self.conversation.set_query(self.needle, None)
            return
        hit = self.hits[self.index]
        entry = entries[hit.index] if hit.index < len(entries) else None
        self.conversation.set_query(self.needle, entry)
        # Shielded: a newer query does not cut a remount of the window in half (its own
        # remount waits for this one to finish).
        await asyncio.shield(self.conversation.show_entry(hit.index))

    async def close(self) -> None:
        """Hide the bar and the highlights."""
        self.display = False
        self.conversation.set_query("", None)
        self.post_message(self.Closed())

    def _work(self, job: Callable[[], Coroutine[Any, Any, None]], group: str = "search") -> None:
        """Run ``job`` as the one piece of work of ``group``: a newer one cancels it.
        Handed over as a call, not a coroutine, so a job cancelled before it starts
        leaves no coroutine behind that was never awaited (a warning on the screen)."""
        work: Any = job  # Textual's annotation takes no coroutine function returning None
        self.run_worker(work, group=group, exclusive=True)

    def on_key(self, event: events.Key) -> None:
        # Workers: moving the view waits for its layout, which a handler must not block.
        key = event.key
        if key in ("enter", "down", "ctrl+f"):
            self._work(partial(self.step, +1))
        elif key in ("shift+enter", "up"):
            self._work(partial(self.step, -1))
        elif key == "escape":
            self._work(self.close)
        else:
            return
        event.stop()
        event.prevent_default()
