"""Conversation blocks for user messages, assistant replies, notices and the first screen.

Each block renders one transcript entry and re-reads it when told (``sync``). The
assistant block draws what streamed at most once per interval, whatever number of
pieces came meanwhile, and while the user types just after a key is drawn
(:class:`StreamPacer`), so a fast model never holds up the keys. A short reply streams
into a Textual Markdown (appended to, never parsed anew); a long one keeps its finished
paragraphs as rendered text and renders only its open end again. A finished reply is one
selectable view of its rendered Markdown. Reasoning sits in a collapsed, dimmed section
above the answer. Every block's text can be selected and copied, and a search highlights
its matches (``set_query``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import Reactive
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
    from textual.timer import Timer

    from hermes.frontends.tui.stream_markdown import StreamMarkdown

USER_MAX_LINES = 40
STREAM_FRAME = 1 / 60
"""Streamed pieces that arrive within a frame (s) are drawn together, by one append."""
STREAM_INTERVAL = 0.08
"""Streamed text reaches the Markdown at most this often (s): each append re-lays out and
repaints the conversation, so batching keeps the input responsive under a fast model."""
STREAM_INTERVAL_TYPING = 0.5
"""...and while the user is typing (a key in the last TYPING_WINDOW s), this often, just
after a key has been drawn: the keys come first, the answer still moves."""
TYPING_WINDOW = 0.6
KEY_WAIT = 0.25
"""How long past its time a draw waits for the next key before it is drawn anyway."""
FREEZE_CHARS = 1000
"""A reply streams into a Textual Markdown up to this long. Past it, its finished
paragraphs are frozen into rendered text (as the final reply shows them) and only its
open end is rendered again as it grows: each Markdown block is a widget, and every
widget is laid out again on every draw."""
FREEZE_STEP = 400
"""Finished paragraphs are frozen once there are this many characters of them: the open
end stays short to render, and a long reply is a few dozen frozen views, not hundreds."""


class StreamPacer:
    """When a streaming reply draws while the user types.

    Each draw lays out and repaints the conversation (tens of milliseconds), and a key
    that arrives meanwhile waits for it. So while keys come, a draw that is due waits
    for the next key and runs just after that key has been drawn: the pause before the
    key after it is when the screen is free. The app tells of every key
    (:meth:`keystroke`); a block asks to be drawn after one (:meth:`after_key`).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last_key = float("-inf")
        self._waiting: dict[Callable[[], None], float] = {}  # draw -> when it is due
        self._release_pending = False

    def typing(self) -> bool:
        """Whether a key came within the last :data:`TYPING_WINDOW` seconds."""
        return self.clock() - self.last_key < TYPING_WINDOW

    def keystroke(self, after_refresh: Callable[[Callable[[], None]], object]) -> None:
        """A key came: once it is drawn (``after_refresh``), run the draws that are due."""
        self.last_key = self.clock()
        if self._waiting and not self._release_pending:
            self._release_pending = True
            after_refresh(self._release)

    def after_key(self, draw: Callable[[], None], due: float) -> None:
        """Run ``draw`` after the first key drawn from time ``due`` on."""
        self._waiting[draw] = due

    def forget(self, draw: Callable[[], None]) -> None:
        """``draw`` no longer waits (it ran, or its block is gone)."""
        self._waiting.pop(draw, None)

    def _release(self) -> None:
        self._release_pending = False
        now = self.clock()
        for draw, due in list(self._waiting.items()):
            if due <= now:
                del self._waiting[draw]
                draw()


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


class SteadyRich(SelectableRich):
    """A :class:`SelectableRich` whose change of size is laid out once, not twice.

    Textual lays a widget out again after its size changed (``virtual_size`` is reactive
    with ``layout=True``): right for a view that scrolls, a second layout of the whole
    screen per streamed piece for a view that only grows."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)


class AssistantBlock(Vertical, Block):
    """A reply: streamed as Markdown while it comes, one Static once it is final;
    reasoning collapsible (and dimmed) above it."""

    entry: AssistantEntry
    # A block that grew is laid out once, not again for its new size (see SteadyRich).
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, entry: AssistantEntry, query: str = "") -> None:
        super().__init__(classes="block assistant")
        self.entry = entry
        self.needle = query
        self._fed = 0
        self._generation = entry.generation
        self._reasoning_shown = ""
        self._final_shown: tuple[str, bool, bool] | None = None
        self._flush_timer: Timer | None = None
        self._last_write = float("-inf")
        # Children kept by reference: querying would walk every Markdown block per token.
        self._md: StreamMarkdown | None = None
        self._final_view: SelectableRich | None = None
        self._reasoning: Collapsible | None = None
        self._reasoning_text: Static | None = None
        self._frozen: list[SelectableRich] = []
        self._frozen_upto = 0  # how much of the text the frozen views show
        self._tail: SelectableRich | None = None
        self._feeding = asyncio.Lock()

    def compose(self) -> ComposeResult:
        entry = self.entry
        self.display = not entry.empty
        if entry.reasoning:
            yield self._reasoning_section()
        if entry.streaming:
            from hermes.frontends.tui.stream_markdown import StreamMarkdown

            self._md = StreamMarkdown(classes="answer")
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
        self._final_view = SteadyRich(Group(*parts), query=self.needle, classes="answer final")
        return self._final_view

    def set_query(self, query: str) -> None:
        """Highlight the matches of a search in the finished answer."""
        self.needle = query
        if self._final_view is not None:
            self._final_view.set_query(query)

    @property
    def markdown(self) -> StreamMarkdown | None:
        """The streaming view, while there is one."""
        return self._md

    @property
    def source(self) -> str:
        """The text on screen (for tests): streamed so far, or final."""
        md = self.markdown
        if md is not None:
            return md.source
        if self._tail is not None:
            return self.entry.text[: self._fed]
        return (self._final_shown or ("", False, False))[0]

    def on_mount(self) -> None:
        self.call_later(self.feed)

    async def feed(self) -> None:
        """Bring the screen up to the entry. Streamed text is only noted here: it is drawn
        at most every :data:`STREAM_INTERVAL` (never twice in a frame), by one draw
        however many pieces came meanwhile; a retry or the final text is carried out at
        once."""
        if not self.is_mounted:
            return
        entry = self.entry
        live = self._md is not None or self._tail is not None
        if entry.streaming and live and entry.generation == self._generation:
            self.display = not entry.empty
            self._sync_reasoning()
            if len(entry.text) > self._fed:
                self._schedule_flush()
            return
        async with self._feeding:
            await self._feed()

    @property
    def _pacer(self) -> StreamPacer | None:
        pacer = getattr(self.app, "stream_pacer", None)
        return pacer if isinstance(pacer, StreamPacer) else None

    def _now(self) -> float:
        pacer = self._pacer
        return pacer.clock() if pacer is not None else time.monotonic()

    def _schedule_flush(self) -> None:
        if self._flush_timer is not None:
            return  # one draw is due already: it takes everything that came until then
        now = self._now()
        pacer = self._pacer
        if pacer is not None and pacer.typing():
            due = self._last_write + STREAM_INTERVAL_TYPING
            pacer.after_key(self._draw_after_key, due)
            wait = due - now + KEY_WAIT  # no key came: drawn all the same
        else:
            wait = self._last_write + STREAM_INTERVAL - now
        self._flush_timer = self.set_timer(max(wait, STREAM_FRAME), self._flush)

    def _draw_after_key(self) -> None:
        """A key has just been drawn and this draw is due: now, before the next key."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self.call_later(self._flush)

    async def _flush(self) -> None:
        """Draw what streamed since the last draw, all of it at once."""
        self._stop_flush()
        async with self._feeding:
            await self._feed()

    async def _feed(self) -> None:
        entry = self.entry
        md = self.markdown
        if md is not None and not md.is_mounted:  # its first render is still running
            self._schedule_flush()
            return
        self.display = not entry.empty
        if entry.generation != self._generation and (md is not None or self._tail is not None):
            await self._restart()  # a retried request: what streamed is dropped
        self._generation = entry.generation
        if entry.streaming and (self._md is not None or self._tail is not None):
            if len(entry.text) > self._fed:
                self._last_write = self._now()
                await self._draw(entry.text)
        elif not entry.streaming:
            await self._settle()
        self._sync_reasoning()

    async def _draw(self, text: str) -> None:
        """Show ``text``, the reply so far: appended to the Markdown while the reply is
        short; once long, its finished paragraphs frozen, its open end re-rendered."""
        md = self._md
        if md is not None and len(text) <= FREEZE_CHARS:
            fresh, self._fed = text[self._fed :], len(text)
            await md.add(fresh)
            return
        self._fed = len(text)
        start = self._frozen_upto
        cut = paragraph_cut(text[start:])
        if cut >= FREEZE_STEP or (md is not None and cut):
            self._frozen_upto += cut
            chunk = render_markdown(text[start : start + cut])
            frozen = SteadyRich(chunk, classes="answer final frozen")
            frozen.styles.margin = (0, 0, 1, 0)  # the blank line between two paragraphs
            self._frozen.append(frozen)
            await self.mount(frozen, before=md or self._tail)
        tail = render_markdown(text[self._frozen_upto :])
        if self._tail is None:
            self._tail = SteadyRich(tail, classes="answer final tail")
            await self.mount(self._tail, after=md)
        else:
            self._tail.update(tail)
        if md is not None:
            self._md = None
            await md.remove()

    async def _restart(self) -> None:
        """Drop what streamed (a retried request) and stream again from nothing."""
        from hermes.frontends.tui.stream_markdown import StreamMarkdown

        gone: list[Widget] = [*self._frozen]
        if self._tail is not None:
            gone.append(self._tail)
        self._frozen, self._tail, self._frozen_upto, self._fed = [], None, 0, 0
        if self._md is None:
            self._md = StreamMarkdown(classes="answer")
            await self.mount(self._md)
        else:
            await self._md.restart("")
        await self.remove_children(gone)

    async def _settle(self) -> None:
        self._stop_flush()
        live: list[Widget] = [*self._frozen]
        for view in (self._md, self._tail):
            if view is not None:
                live.append(view)
        if live:
            self._md, self._tail, self._frozen = None, None, []
            await self.remove_children(live)
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

    def _stop_flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        pacer = self._pacer
        if pacer is not None:
            pacer.forget(self._draw_after_key)

    def on_unmount(self) -> None:
        """A block pruned from the window mid-stream draws nothing more."""
        self._stop_flush()
