"""The conversation: a scroll view that mounts only a window of the transcript.

The transcript holds every entry; widgets exist only for ``entries[lo:hi]``. While the
view follows the end, new entries are mounted at the bottom and the oldest pruned from
the top, so a 10,000-message session keeps ~50 widgets. Scrolling near the top mounts
an earlier batch (keeping the view still) and prunes the bottom; scrolling back down
does the reverse. Nothing re-renders the whole log: a token updates one block.

Moving through a long session: PageUp/PageDown add up (a hundred presses move a
hundred pages, loading history as they go, never dropped); Home/End jump to the first
and last message; a search hit is shown wherever it is (:meth:`show_entry`). What the
window lets go of is released: what it drew is dropped at once, and ``on_pruned`` (told
how many widgets went) lets the app collect the rest.
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
from hermes.frontends.common.welcome import WelcomeEntry
from hermes.frontends.tui.blocks import AssistantBlock, Block, NoticeBlock, UserBlock, WelcomeBlock
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


def drop_render_cache(widget: Widget) -> None:
    """Empty the lines a removed widget drew (Textual keeps them after it is gone).

    Textual's ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a method, so its key
    holds the cache itself (Textualize/textual#6665): the styles caches of the last 1,024
    widgets drawn stay alive, and with them every line those widgets drew. Paging through
    a long session fills it within a minute: measured, ~25 MB and ~100,000 objects more
    for every full collection to walk. Emptied, what the lru_cache pins is a few bytes."""
    cache = getattr(widget, "_styles_cache", None)
    if cache is not None:
        cache.clear()
        if hasattr(cache, "_simple_strip"):
            cache._simple_strip = None


class Conversation(VerticalScroll):
    """Shows ``transcript.entries`` through a window of mounted blocks."""

    can_focus = False

    def __init__(
        self,
        transcript: Transcript,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_pruned: Callable[[int], None] | None = None,
        on_moved: Callable[[], None] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.transcript = transcript
        self.clock = clock
        self.on_pruned = on_pruned
        self.on_moved = on_moved
        self.lo = 0
        self.hi = 0
        self.widgets: dict[Entry, Block] = {}
        self.needle = ""
        self.current: Entry | None = None  # the search hit being shown
        self._dirty: set[Block] = set()
        self._lock = asyncio.Lock()
        self._tail_scheduled = False
        self._edge_scheduled = False
        self._pages = 0  # PageUp/PageDown presses not yet carried out (+ down, - up)
        self._paging = False

    def on_mount(self) -> None:
        self.anchor()
        self.set_interval(0.1, self._flush)

    # ------------------------------------------------------------------ queries

    @property
    def following(self) -> bool:
        """Whether the view sticks to the end (the user has not scrolled away)."""
        return self.is_anchored and not getattr(self, "_anchor_released", False)

    @property
    def paging(self) -> bool:
        """Whether PageUp/PageDown presses are still being carried out."""
        return self._paging

    def widget_for(self, entry: Entry) -> Block | None:
        """The mounted block of ``entry``, if it is in the window."""
        return self.widgets.get(entry)

    def tool_block(self, call_id: str) -> ToolBlock | None:
        """The mounted block of call ``call_id``, if any."""
        entry = self.transcript.tools.get(call_id)
        widget = self.widgets.get(entry) if entry is not None else None
        return widget if isinstance(widget, ToolBlock) else None

    def tool_blocks(self) -> list[ToolBlock]:
        """The mounted tool blocks, top to bottom."""
        return [w for w in self.children if isinstance(w, ToolBlock)]

    def visible_tool_block(self) -> ToolBlock | None:
        """The lowest tool block on screen, else the nearest one above the view."""
        top, bottom = self.scroll_y, self.scroll_y + self.scrollable_content_region.height
        above: ToolBlock | None = None
        seen: ToolBlock | None = None
        for block in self.tool_blocks():
            region = block.virtual_region
            if region.bottom <= top:
                above = block
            elif region.y < bottom:
                seen = block
        return seen or above

    def position(self) -> tuple[float, float]:
        """Where the view is in the whole session: ``(top, size)`` as fractions of all
        entries (what the session scrollbar draws)."""
        n = len(self.transcript.entries)
        mounted = self.hi - self.lo
        if n == 0 or mounted <= 0:
            return 0.0, 1.0
        height = max(1, self.virtual_size.height)
        view = self.scrollable_content_region.height
        first = self.lo + mounted * min(1.0, self.scroll_y / height)
        shown = mounted * min(1.0, view / height)
        return first / n, max(shown / n, 0.0)

    def _make(self, entry: Entry) -> Block:
        block: Block
        q = self.needle
        if isinstance(entry, ToolEntry):
            block = ToolBlock(entry, self.clock, query=q)
        elif isinstance(entry, AssistantEntry):
            block = AssistantBlock(entry, query=q)
        elif isinstance(entry, UserEntry):
            block = UserBlock(entry, query=q)
        elif isinstance(entry, NoticeEntry):
            block = NoticeBlock(entry, query=q)
        elif isinstance(entry, WelcomeEntry):
            block = WelcomeBlock(entry, query=q)
        else:
            raise TypeError(f"no block for {type(entry).__name__}")
        if entry is self.current:
            block.add_class("search-current")
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

    def set_query(self, query: str, current: Entry | None = None) -> None:
        """Highlight ``query`` in every block (and in blocks mounted later); mark the
        block of ``current`` as the hit being shown."""
        if current is not self.current:
            old = self.widgets.get(self.current) if self.current is not None else None
            if old is not None:
                old.remove_class("search-current")
            self.current = current
            new = self.widgets.get(current) if current is not None else None
            if new is not None:
                new.add_class("search-current")
        if query != self.needle:
            self.needle = query
            for block in self.widgets.values():
                block.set_query(query)

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
        self._moved()
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
        self._moved()

    async def _remount(self, lo: int, hi: int) -> None:
        """Replace the window with ``entries[lo:hi]`` (call with the lock held)."""
        entries = self.transcript.entries
        await self._unmount(entries[self.lo : self.hi])
        self.lo, self.hi = lo, hi
        await self.mount_all([self._make(e) for e in entries[lo:hi]])

    async def jump_to_end(self) -> None:
        """Show the latest entries and follow them again."""
        self._pages = 0
        async with self._lock:
            n = len(self.transcript.entries)
            if self.hi < n or self.lo < n - WINDOW - BATCH:
                await self._remount(max(0, n - WINDOW), n)
        self.anchor()
        self.scroll_end(animate=False, immediate=True)
        self._moved()

    async def jump_to_start(self) -> None:
        """Show the session's first entries (loading them as needed)."""
        self._pages = 0
        async with self._lock:
            n = len(self.transcript.entries)
            if self.lo > 0:
                await self._remount(0, min(n, WINDOW))
        self.release_anchor()
        await self._settled()
        self.scroll_home(animate=False, immediate=True)
        self._moved()

    async def show_entry(self, index: int) -> None:
        """Bring entry ``index`` into view (mounting a window around it if it is not)."""
        entries = self.transcript.entries
        if not 0 <= index < len(entries):
            return
        self._pages = 0
        async with self._lock:
            if not self.lo <= index < self.hi:
                lo = max(0, index - WINDOW // 2)
                await self._remount(lo, min(len(entries), lo + WINDOW))
        self.release_anchor()
        await self._settled()
        widget = self.widgets.get(entries[index])
        if widget is not None:
            self.scroll_to_widget(widget, animate=False, immediate=True, top=True)
        self._moved()

    async def reset(self) -> None:
        """Forget every widget (``/clear``, a new session)."""
        async with self._lock:
            await self._release(list(self.children))
            self.widgets.clear()
            self._dirty.clear()
            self.lo = self.hi = 0
        self.current = None
        self.anchor()
        self._moved()

    async def _unmount(self, entries: list[Entry]) -> None:
        gone: list[Widget] = []
        for entry in entries:
            widget = self.widgets.pop(entry, None)
            if widget is not None:
                self._dirty.discard(widget)
                gone.append(widget)
        if gone:
            await self._release(gone)

    async def _release(self, blocks: list[Widget]) -> None:
        """Remove ``blocks``, let go of what they drew, and say how many widgets went."""
        released = [w for block in blocks for w in block.walk_children(Widget, with_self=True)]
        await self.remove_children(blocks)
        for widget in released:
            drop_render_cache(widget)
        if self.on_pruned is not None:
            self.on_pruned(len(released))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._moved()
        if self._edge_scheduled or self._paging:
            return
        near_top = new <= EDGE and self.lo > 0
        near_end = new >= self.max_scroll_y - EDGE and self.hi < len(self.transcript.entries)
        if near_top or near_end:
            self._edge_scheduled = True
            self.call_later(self._load_edge)

    def watch_virtual_size(self, old: object, new: object) -> None:
        self._moved()  # more (or less) above or below: the session scrollbar redraws

    def on_resize(self) -> None:
        self._moved()

    def _moved(self) -> None:
        if self.on_moved is not None:
            self.on_moved()

    async def _load_edge(self) -> None:
        try:
            if self.scroll_y <= EDGE and self.lo > 0:
                kept = await self._load_older()
                if kept is not None:
                    self.call_after_refresh(self._keep_view, *kept)
            elif self.scroll_y >= self.max_scroll_y - EDGE:
                kept = await self._load_newer()
                if kept is not None:
                    self.call_after_refresh(self._keep_view, *kept)
        finally:
            self._edge_scheduled = False

    async def _load_older(self) -> tuple[Widget, int] | None:
        """Mount a batch above the window; returns the block to keep still and where it
        was (the caller scrolls by how far it moved once laid out)."""
        async with self._lock:
            entries = self.transcript.entries
            k = min(BATCH, self.lo)
            if k <= 0:
                return None
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
        return (first, before_y) if first is not None else None

    async def _load_newer(self) -> tuple[Widget, int] | None:
        """Mount a batch below the window (pruning the top: the block to keep still)."""
        async with self._lock:
            entries = self.transcript.entries
            n = len(entries)
            if self.hi >= n:
                return None
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
                    return keep, before_y
        return None

    def _keep_view(self, widget: Widget, before_y: int) -> None:
        """Scroll by however far ``widget`` moved, so what the user sees stays put."""
        shift = widget.virtual_region.y - before_y
        if shift:
            self.scroll_to(y=self.scroll_y + shift, animate=False, immediate=True)

    async def _settled(self) -> None:
        """Wait until what was just mounted has been laid out."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def laid_out() -> None:
            if not done.done():
                done.set_result(None)

        self.call_after_refresh(laid_out)
        await done

    # ------------------------------------------------------------------ paging

    def page(self, direction: int) -> None:
        """One PageUp (-1) or PageDown (+1). Presses add up and are carried out in
        order, loading history as they reach it; none is dropped."""
        self._pages += direction
        if not self._paging:
            self._paging = True
            # A worker, not a message handler: it waits for layouts this widget does.
            self.run_worker(self._run_pages(), group="pages")

    def stop_paging(self) -> None:
        """Drop the presses not carried out yet (a search takes the view over)."""
        self._pages = 0

    async def _run_pages(self) -> None:
        try:
            while self._pages:
                step = 1 if self._pages > 0 else -1
                self._pages -= step
                if not await self._page_once(step):
                    self._pages = 0  # at the session's first or last line: nothing more
        finally:
            self._paging = False
            self._moved()

    async def _page_once(self, step: int) -> bool:
        height = max(1, self.scrollable_content_region.height - 1)
        if step < 0:
            if self.scroll_y < height and self.lo > 0:
                kept = await self._load_older()
                if kept is not None:
                    await self._settled()
                    self._keep_view(*kept)
            if self.scroll_y <= 0:
                return False
            self.release_anchor()
            self.scroll_to(y=max(0, self.scroll_y - height), animate=False, immediate=True)
            return True
        n = len(self.transcript.entries)
        if self.scroll_y + height > self.max_scroll_y and self.hi < n:
            kept = await self._load_newer()
            await self._settled()
            if kept is not None:
                self._keep_view(*kept)
        if self.scroll_y >= self.max_scroll_y:
            if self.hi >= n:
                self.anchor()  # the end again: follow it
            return False
        self.scroll_to(
            y=min(self.max_scroll_y, self.scroll_y + height), animate=False, immediate=True
        )
        if self.scroll_y >= self.max_scroll_y and self.hi >= n:
            self.anchor()
        return True
