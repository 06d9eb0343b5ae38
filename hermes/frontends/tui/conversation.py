"""The conversation: a scroll view that mounts only a window of the transcript.

The transcript holds every entry; widgets exist only for ``entries[lo:hi]``. While the
view follows the end, new entries are mounted at the bottom and the oldest pruned from
the top, so a 10,000-message session keeps ~50 widgets. Scrolling near the top mounts
an earlier batch (keeping the view still) and prunes the bottom; scrolling back down
does the reverse. Nothing re-renders the whole log: a token updates one block.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.containers import VerticalScroll
from textual.widget import Widget

from hermes.frontends.common.transcript import (
    AssistantEntry,
    Entry,
    NoticeEntry,
    ToolEntry,
    Transcript,
    UserEntry,
)
from hermes.frontends.tui.blocks import AssistantBlock, Block, NoticeBlock, UserBlock
from hermes.frontends.tui.tool_block import ToolBlock

WINDOW = 20
"""Entries kept mounted while following the end."""
BATCH = 10
"""Entries mounted at a time when scrolling into unmounted history."""
MAX_MOUNTED = 60
"""Most entries mounted at once; beyond it the far side is pruned."""
EDGE = 2
"""Rows from the top or bottom that count as "at the edge"."""
FIRST_PAINT = 8
"""Entries mounted first when a long history appears at once (then the window fills)."""
"""Rows from the top or bottom that count as "at the edge"."""


class Conversation(VerticalScroll):
    """Shows ``transcript.entries`` through a window of mounted blocks."""

    can_focus = False

    def __init__(
        self,
        transcript: Transcript,
        *,
        clock: Callable[[], float] = time.monotonic,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.transcript = transcript
        self.clock = clock
        self.lo = 0
        self.hi = 0
        self.widgets: dict[Entry, Block] = {}
        self._dirty: set[Block] = set()
        self._lock = asyncio.Lock()
        self._tail_scheduled = False
        self._edge_scheduled = False

    def on_mount(self) -> None:
        self.anchor()
        self.set_interval(0.1, self._flush)

    # ------------------------------------------------------------------ queries

    @property
    def following(self) -> bool:
        """Whether the view sticks to the end (the user has not scrolled away)."""
        return self.is_anchored and not getattr(self, "_anchor_released", False)

    def widget_for(self, entry: Entry) -> Block | None:
        """The mounted block of ``entry``, if it is in the window."""
        return self.widgets.get(entry)

    def tool_block(self, call_id: str) -> ToolBlock | None:
        """The mounted block of call ``call_id``, if any."""
        entry = self.transcript.tools.get(call_id)
        widget = self.widgets.get(entry) if entry is not None else None
        return widget if isinstance(widget, ToolBlock) else None

    def _make(self, entry: Entry) -> Block:
        block: Block
        if isinstance(entry, ToolEntry):
            block = ToolBlock(entry, self.clock)
        elif isinstance(entry, AssistantEntry):
            block = AssistantBlock(entry)
        elif isinstance(entry, UserEntry):
            block = UserBlock(entry)
        elif isinstance(entry, NoticeEntry):
            block = NoticeBlock(entry)
        else:
            raise TypeError(f"no block for {type(entry).__name__}")
        self.widgets[entry] = block
        return block

    # ------------------------------------------------------------------ updates

    def added(self) -> None:
        """Entries were appended to the transcript: mount them soon (coalesced)."""
        if not self._tail_scheduled:
            self._tail_scheduled = True
            self.call_later(self._sync_tail)

    async def changed(self, entry: Entry) -> None:
        """An entry changed: streamed text goes out now, the rest at the next tick."""
        widget = self.widgets.get(entry)
        if widget is None:
            return
        if isinstance(widget, AssistantBlock):
            await widget.feed()
        else:
            self._dirty.add(widget)

    def flush_now(self, entry: Entry) -> None:
        """Redraw one entry's block immediately (an approval must not wait a tick)."""
        widget = self.widgets.get(entry)
        if widget is not None:
            self._dirty.discard(widget)
            widget.sync()

    def _flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for block in dirty:
            if block.is_attached:
                block.sync()
        tools = self.transcript.tools
        for call_id in self.transcript.active:  # elapsed times tick
            entry = tools.get(call_id)
            running = self.widgets.get(entry) if entry is not None else None
            if running is not None and running not in dirty:
                running.sync()

    # ------------------------------------------------------------------ window

    async def _sync_tail(self) -> None:
        self._tail_scheduled = False
        async with self._lock:
            entries = self.transcript.entries
            n = len(entries)
            if self.hi >= n:
                return
            following = self.following
            if not following and self.hi - self.lo >= MAX_MOUNTED:
                return  # the user reads older history; new entries wait below
            jumped = following and n - self.hi > WINDOW
            if jumped:  # e.g. a resumed session: paint one screenful, then fill in above
                await self._unmount(entries[self.lo : self.hi])
                self.lo = self.hi = n - FIRST_PAINT
            new = [self._make(e) for e in entries[self.hi : n]]
            self.hi = n
            await self.mount_all(new)
            if following and self.hi - self.lo > WINDOW + BATCH:
                cut = self.hi - WINDOW
                await self._unmount(entries[self.lo : cut])
                self.lo = cut
        if jumped:
            self.call_after_refresh(self._fill_window)

    async def _fill_window(self) -> None:
        """After the first screenful is up, mount the rest of the window above it."""
        async with self._lock:
            entries = self.transcript.entries
            k = min(self.lo, WINDOW - (self.hi - self.lo))
            first = self.widgets.get(entries[self.lo]) if self.lo < self.hi else None
            if k <= 0 or first is None:
                return
            self.lo -= k
            await self.mount_all(
                [self._make(e) for e in entries[self.lo : self.lo + k]], before=first
            )

    async def jump_to_end(self) -> None:
        """Show the latest entries and follow them again."""
        async with self._lock:
            entries = self.transcript.entries
            n = len(entries)
            if self.hi < n or self.lo < n - WINDOW - BATCH:
                await self._unmount(entries[self.lo : self.hi])
                self.lo = max(0, n - WINDOW)
                self.hi = n
                await self.mount_all([self._make(e) for e in entries[self.lo : n]])
        self.anchor()

    async def reset(self) -> None:
        """Forget every widget (``/clear``, a new session)."""
        async with self._lock:
            await self.remove_children()
            self.widgets.clear()
            self._dirty.clear()
            self.lo = self.hi = 0
        self.anchor()

    async def _unmount(self, entries: list[Entry]) -> None:
        gone: list[Widget] = []
        for entry in entries:
            widget = self.widgets.pop(entry, None)
            if widget is not None:
                self._dirty.discard(widget)
                gone.append(widget)
        if gone:
            await self.remove_children(gone)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._edge_scheduled:
            return
        near_top = new <= EDGE and self.lo > 0
        near_end = new >= self.max_scroll_y - EDGE and self.hi < len(self.transcript.entries)
        if near_top or near_end:
            self._edge_scheduled = True
            self.call_later(self._load_edge)

    async def _load_edge(self) -> None:
        try:
            if self.scroll_y <= EDGE and self.lo > 0:
                await self._load_older()
            elif self.scroll_y >= self.max_scroll_y - EDGE:
                await self._load_newer()
        finally:
            self._edge_scheduled = False

    async def _load_older(self) -> None:
        async with self._lock:
            entries = self.transcript.entries
            k = min(BATCH, self.lo)
            first = self.widgets.get(entries[self.lo]) if self.lo < self.hi else None
            new = [self._make(e) for e in entries[self.lo - k : self.lo]]
            self.lo -= k
            before_y = first.virtual_region.y if first is not None else 0
            if first is not None:
                await self.mount_all(new, before=first)
            else:
                await self.mount_all(new)
            if self.hi - self.lo > MAX_MOUNTED:
                cut = self.lo + MAX_MOUNTED
                await self._unmount(entries[cut : self.hi])
                self.hi = cut
        if first is not None:
            self.call_after_refresh(self._keep_view, first, before_y)

    async def _load_newer(self) -> None:
        async with self._lock:
            entries = self.transcript.entries
            n = len(entries)
            if self.hi >= n:
                return
            k = min(BATCH, n - self.hi)
            new = [self._make(e) for e in entries[self.hi : self.hi + k]]
            self.hi += k
            await self.mount_all(new)
            if self.hi - self.lo > MAX_MOUNTED:
                cut = self.hi - MAX_MOUNTED
                keep = self.widgets.get(entries[cut])
                before_y = keep.virtual_region.y if keep is not None else 0
                await self._unmount(entries[self.lo : cut])
                self.lo = cut
                if keep is not None:
                    self.call_after_refresh(self._keep_view, keep, before_y)

    def _keep_view(self, widget: Widget, before_y: int) -> None:
        """Scroll by however far ``widget`` moved, so what the user sees stays put."""
        shift = widget.virtual_region.y - before_y
        if shift:
            self.scroll_to(y=self.scroll_y + shift, animate=False, immediate=True)
