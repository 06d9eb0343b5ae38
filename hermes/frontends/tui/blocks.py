"""Conversation blocks for user messages, assistant replies, notices and the first screen.

Each block renders one transcript entry and re-reads it when told (``sync``). The
assistant block streams through Textual's ``MarkdownStream``, which batches fragments
while a render is in flight, so a fast model never outruns the screen; a finished reply
is one selectable view of its rendered Markdown. Reasoning sits in a collapsed, dimmed
section above the answer. Every block's text can be selected and copied, and a search
highlights its matches (``set_query``).
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

from hermes.frontends.common.attachments import split
from hermes.frontends.common.format import (
    diff_text,
    looks_like_diff,
    paragraph_cut,
    render_markdown,
)
from hermes.frontends.common.transcript import AssistantEntry, Entry, NoticeEntry, UserEntry
from hermes.frontends.common.welcome import FIRST_KEYS, WelcomeEntry
from hermes.frontends.tui.selectable import SelectableRich, highlight

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
    needle: str = ""  # what a search highlights

    def sync(self) -> None:
        """Re-read the entry (cheap; called at most a few times a second)."""

    def set_query(self, query: str) -> None:
        """Highlight the matches of a search ("" clears)."""
        self.needle = query


class TextBlock(Static, Block):
    """A block that is one piece of text (highlighted as a search asks)."""

    def __init__(self, entry: Entry, classes: str, query: str = "") -> None:
        self.entry = entry
        self.needle = query
        super().__init__(highlight(self._text(), query), classes=classes)

    def _text(self) -> Text:
        return Text()

    def sync(self) -> None:
        """Re-read the entry."""
        self.update(highlight(self._text(), self.needle))

    def set_query(self, query: str) -> None:
        """Highlight the matches of a search ("" clears)."""
        if query != self.needle:
            self.needle = query
            self.sync()


class UserBlock(TextBlock):
    """What the user said, and the files it attached (as chips)."""

    entry: UserEntry

    def __init__(self, entry: UserEntry, query: str = "") -> None:
        super().__init__(entry, "block user", query)

    def _text(self) -> Text:
        typed, chips = split(self.entry.text)
        lines = typed.splitlines() or [""]
        shown = "\n".join(lines[:USER_MAX_LINES])
        out = Text("› ", style="bold")
        out.append(shown)
        if len(lines) > USER_MAX_LINES:
            out.append(f"\n  … {len(lines) - USER_MAX_LINES} more lines", style="dim")
        for chip in chips:
            out.append("\n  ")
            out.append(f" @ {chip.label} ", style="reverse")
        return out


class NoticeBlock(TextBlock):
    """An error, warning or note: readable text, never a traceback. A notice that
    carries a diff (``/diff``) shows it coloured."""

    ICONS = {"error": "✗ ", "warning": "! ", "info": "· "}
    entry: NoticeEntry

    def __init__(self, entry: NoticeEntry, query: str = "") -> None:
        super().__init__(entry, f"block notice {entry.level}", query)

    def _text(self) -> Text:
        text = Text(self.ICONS.get(self.entry.level, "· "), style="bold")
        head, sep, rest = self.entry.text.partition("\n")
        if sep and looks_like_diff(rest):
            text.append(head + "\n")
            text.append_text(diff_text(rest))
        else:
            text.append(self.entry.text)
        return text


class WelcomeBlock(TextBlock):
    """The first screen: where, with what, how to go on."""

    entry: WelcomeEntry

    def __init__(self, entry: WelcomeEntry, query: str = "") -> None:
        super().__init__(entry, "block welcome", query)

    def _text(self) -> Text:
        rows = self.entry.welcome.rows()
        width = max(len(label) for label, _ in rows)
        text = Text("hermes", style="bold")
        text.append("  your coding agent in this terminal\n", style="dim")
        for label, value in rows:
            text.append(f"\n{label.rjust(width)}  ", style="dim")
            text.append(value)
        text.append("\n\n")
        for i, (key, what) in enumerate(FIRST_KEYS):
            text.append(" · " if i else "", style="dim")
            text.append(key, style="bold")
            text.append(f" {what}", style="dim")
        return text


class AssistantBlock(Vertical, Block):
    """A reply: streamed as Markdown while it comes, one Static once it is final;
    reasoning collapsible (and dimmed) above it."""

    entry: AssistantEntry

    def __init__(self, entry: AssistantEntry, query: str = "") -> None:
        super().__init__(classes="block assistant")
        self.entry = entry
        self.needle = query
        self._fed = 0
        self._generation = entry.generation
        self._stream: MarkdownStream | None = None
        self._reasoning_shown = ""
        self._final_shown: tuple[str, bool, bool] | None = None
        self._retry_pending = False
        self._last_write = 0.0
        # Children kept by reference: querying would walk every Markdown block per token.
        self._md: Markdown | None = None
        self._final_view: SelectableRich | None = None
        self._reasoning: Collapsible | None = None
        self._reasoning_text: Static | None = None
        self._frozen: list[SelectableRich] = []
        self._feeding = asyncio.Lock()

    def compose(self) -> ComposeResult:
        entry = self.entry
        self.display = not entry.empty
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

    def _final(self) -> SelectableRich:
        entry = self.entry
        self._final_shown = (entry.text, entry.interrupted, entry.failed)
        parts: list[RenderableType] = []
        if entry.text:
            parts.append(render_markdown(entry.text))
        if entry.interrupted:
            parts.append(Text("■ interrupted", style="italic yellow"))
        if entry.failed:
            parts.append(
                Text("✗ this request failed; its text is not part of the conversation", "dim red")
            )
        self._final_view = SelectableRich(Group(*parts), query=self.needle, classes="answer final")
        return self._final_view

    def set_query(self, query: str) -> None:
        """Highlight the matches of a search in the finished answer."""
        self.needle = query
        if self._final_view is not None:
            self._final_view.set_query(query)

    @property
    def markdown(self) -> Markdown | None:
        """The streaming view, while there is one."""
        return self._md

    @property
    def source(self) -> str:
        """The text on screen (for tests): streamed so far, or final."""
        md = self.markdown
        return md.source if md is not None else (self._final_shown or ("", False, False))[0]

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
        self.display = not entry.empty
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
        frozen = SelectableRich(render_markdown(source[:cut]), classes="answer final frozen")
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
        elif self._final_shown != (self.entry.text, self.entry.interrupted, self.entry.failed):
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
