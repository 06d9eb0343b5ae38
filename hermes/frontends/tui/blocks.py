"""Conversation blocks for user messages, assistant replies and notices.

Each block renders one transcript entry and re-reads it when told (``sync``). The
assistant block streams through Textual's ``MarkdownStream``, which batches fragments
while a render is in flight, so a fast model never outruns the screen. Reasoning sits
in a collapsed, dimmed section above the answer.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from hermes.frontends.common.format import paragraph_cut, render_markdown
from hermes.frontends.common.transcript import AssistantEntry, Entry, NoticeEntry, UserEntry

if TYPE_CHECKING:  # the Markdown widget loads on the first streamed reply, not at start-up
    from textual.widgets import Markdown
    from textual.widgets.markdown import MarkdownStream

USER_MAX_LINES = 40
STREAM_INTERVAL = 0.08
"""Streamed text reaches the Markdown at most this often (s): each append re-lays out and
repaints the conversation, so batching keeps the input responsive under a fast model."""
STREAM_INTERVAL_TYPING = 0.5
"""...and while the user is typing (a key in the last TYPING_WINDOW s), this often: the
keys come first, the answer still moves."""
TYPING_WINDOW = 0.6
FREEZE_CHARS = 3000
"""A streaming Markdown holding more than this hands its finished paragraphs to a Static,
so a long reply never becomes hundreds of live block widgets."""


class Block(Widget):
    """A widget showing one entry."""

    entry: Entry

    def sync(self) -> None:
        """Re-read the entry (cheap; called at most a few times a second)."""


class UserBlock(Static, Block):
    """What the user said."""

    entry: UserEntry

    def __init__(self, entry: UserEntry) -> None:
        self.entry = entry
        super().__init__(self._render_text(entry.text), classes="block user")

    @staticmethod
    def _render_text(text: str) -> Text:
        lines = text.splitlines() or [""]
        shown = "\n".join(lines[:USER_MAX_LINES])
        out = Text("› ", style="bold")
        out.append(shown)
        if len(lines) > USER_MAX_LINES:
            out.append(f"\n  … {len(lines) - USER_MAX_LINES} more lines", style="dim")
        return out


class NoticeBlock(Static, Block):
    """An error, warning or note: readable text, never a traceback."""

    ICONS = {"error": "✗ ", "warning": "! ", "info": "· "}
    entry: NoticeEntry

    def __init__(self, entry: NoticeEntry) -> None:
        self.entry = entry
        super().__init__(self._text(), classes=f"block notice {entry.level}")

    def _text(self) -> Text:
        text = Text(self.ICONS.get(self.entry.level, "· "), style="bold")
        text.append(self.entry.text)
        return text

    def sync(self) -> None:
        """Re-read the entry."""
        self.update(self._text())


class AssistantBlock(Vertical, Block):
    """A reply: streamed as Markdown while it comes, one Static once it is final;
    reasoning collapsible (and dimmed) above it."""

    entry: AssistantEntry

    def __init__(self, entry: AssistantEntry) -> None:
        super().__init__(classes="block assistant")
        self.entry = entry
        self._fed = 0
        self._generation = entry.generation
        self._stream: MarkdownStream | None = None
        self._reasoning_shown = ""
        self._final_shown: tuple[str, bool] | None = None
        self._retry_pending = False
        self._last_write = 0.0
        # Children kept by reference: querying would walk every Markdown block per token.
        self._md: Markdown | None = None
        self._final_view: Static | None = None
        self._reasoning: Collapsible | None = None
        self._reasoning_text: Static | None = None
        self._frozen: list[Static] = []
        self._feeding = asyncio.Lock()

    def compose(self) -> ComposeResult:
        entry = self.entry
        if entry.reasoning:
            yield self._reasoning_section()
        if entry.streaming:
            from textual.widgets import Markdown

            self._fed = len(entry.text)
            self._md = Markdown(entry.text, classes="answer")
            yield self._md
        else:
            yield self._final()

    def _reasoning_section(self) -> Collapsible:
        self._reasoning_shown = self.entry.reasoning
        self._reasoning_text = Static(Text(self.entry.reasoning), classes="reasoning-text")
        self._reasoning = Collapsible(
            self._reasoning_text, title="thinking", collapsed=True, classes="reasoning"
        )
        return self._reasoning

    def _final(self) -> Static:
        entry = self.entry
        self._final_shown = (entry.text, entry.interrupted)
        parts: list[RenderableType] = []
        if entry.text:
            parts.append(render_markdown(entry.text))
        if entry.interrupted:
            parts.append(Text("■ interrupted", style="italic yellow"))
        self._final_view = Static(Group(*parts), classes="answer final")
        return self._final_view

    @property
    def markdown(self) -> Markdown | None:
        """The streaming view, while there is one."""
        return self._md

    @property
    def source(self) -> str:
        """The text on screen (for tests): streamed so far, or final."""
        md = self.markdown
        return md.source if md is not None else (self._final_shown or ("", False))[0]

    def on_mount(self) -> None:
        self.call_later(self.feed)

    def _feed_later(self, delay: float) -> None:
        if not self._retry_pending:
            self._retry_pending = True
            self.set_timer(delay, self._retry_feed)

    async def _retry_feed(self) -> None:
        self._retry_pending = False
        await self.feed()

    async def feed(self) -> None:
        """Bring the screen up to the entry: stream new text, or settle the final text."""
        if not self.is_mounted:
            return
        if self._feeding.locked():  # one change at a time; come back for the rest
            self._feed_later(STREAM_INTERVAL)
            return
        async with self._feeding:
            await self._feed()

    async def _feed(self) -> None:
        entry = self.entry
        md = self.markdown
        if md is not None and not md.is_mounted:  # its first render is still running
            self._feed_later(0.02)
            return
        if md is not None and entry.generation != self._generation:
            await self._stop_stream()  # a retried request: what streamed is dropped
            await md.update("")
            self._fed = 0
        self._generation = entry.generation
        if entry.streaming and md is not None:
            fresh = entry.text[self._fed :]
            now = time.monotonic()
            typing = now - getattr(self.app, "last_keystroke", 0.0) < TYPING_WINDOW
            interval = STREAM_INTERVAL_TYPING if typing else STREAM_INTERVAL
            wait = self._last_write + interval - now
            if fresh and wait > 0:
                self._feed_later(wait)
            elif fresh:
                if self._stream is None:
                    self._stream = type(md).get_stream(md)
                self._last_write = time.monotonic()
                await self._stream.write(fresh)
                self._fed = len(entry.text)
            if len(md.source) > FREEZE_CHARS:
                await self._freeze(md)
        elif not entry.streaming:
            await self._settle(md)
        self._sync_reasoning()

    async def _freeze(self, md: Markdown) -> None:
        """Move the finished paragraphs out of the live Markdown into a Static."""
        await self._stop_stream()
        source = md.source
        cut = paragraph_cut(source)
        if cut < FREEZE_CHARS // 2:
            return
        frozen = Static(render_markdown(source[:cut]), classes="answer final frozen")
        self._frozen.append(frozen)
        await self.mount(frozen, before=md)
        await md.update(source[cut:])

    async def _settle(self, md: Markdown | None) -> None:
        if md is not None:
            await self._stop_stream()
            self._md = None
            frozen, self._frozen = self._frozen, []
            await self.remove_children([md, *frozen])
            await self.mount(self._final())
        elif self._final_shown != (self.entry.text, self.entry.interrupted):
            if self._final_view is not None:
                await self._final_view.remove()
            await self.mount(self._final())

    def sync(self) -> None:
        """Re-read the entry."""
        self._sync_reasoning()

    def _sync_reasoning(self) -> None:
        entry = self.entry
        if entry.reasoning == self._reasoning_shown:
            return
        if self._reasoning is None or self._reasoning_text is None:
            self.mount(self._reasoning_section(), before=0)
            return
        self._reasoning_shown = entry.reasoning
        self._reasoning_text.update(Text(entry.reasoning))

    async def _stop_stream(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()

    async def on_unmount(self) -> None:
        """A block pruned from the window mid-stream stops its stream task."""
        try:
            await self._stop_stream()
        except Exception:  # the markdown is gone with the block; nothing to flush into
            pass
