"""Pilot: paging through a long session keeps memory bounded (issue 17): the blocks that
leave the window are freed while the paging goes on, and nothing they drew outlives
them, with the collector tuned as hermes runs it.

Everything here counts objects; nothing depends on how fast the machine is.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.strip import Strip

from hermes.frontends.common.transcript import Entry
from hermes.frontends.tui import controls, gc_tuning
from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.blocks import Block
from hermes.frontends.tui.conversation import MAX_MOUNTED, WINDOW, Conversation
from hermes.store.sessions import open_store
from tests.frontends.tui.conftest import SIZE, MakeApp, wait_for
from tests.frontends.tui.seed import long_session

MESSAGES = 600
"""450 entries: ~100 pages of history."""
PAGES = 20
"""PageUp presses, then as many PageDown, in one round: 100 blocks made and let go of."""


class Made:
    """The blocks the conversation makes: how many in all, and those still alive."""

    def __init__(self) -> None:
        self.count = 0
        self.alive: weakref.WeakSet[Block] = weakref.WeakSet()


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Made:
    made = Made()
    make = Conversation._make

    def counted(self: Conversation, entry: Entry) -> Block:
        block = make(self, entry)
        made.alive.add(block)
        made.count += 1
        return block

    monkeypatch.setattr(Conversation, "_make", counted)
    return made


@pytest.fixture
def tuned_gc(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """hermes' collector settings for one test, restored after. Yields the start-up
    freeze for the test to do once the session is painted, as hermes does then: one in
    the middle of the paging would hide from the collector what the test counts."""
    thresholds = gc.get_threshold()
    freeze = gc_tuning.freeze_loaded
    monkeypatch.setattr(gc_tuning, "freeze_loaded", lambda: None)
    yield freeze
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.collect()


@pytest.fixture
def session_id(workspace: Path) -> str:
    """A stored session of MESSAGES messages."""
    store = open_store()
    sid = long_session(store, workspace, MESSAGES)
    store.close()
    return sid


async def painted(pilot: Pilot[Any], app: HermesApp, freeze: Callable[[], None]) -> Conversation:
    """The resumed session on screen, and start-up frozen as hermes does."""
    conv = app.conversation

    def filled() -> bool:  # the first screen, then the window above it
        n = len(app.transcript.entries)
        return n > 400 and conv.hi == n and conv.lo == n - WINDOW

    await wait_for(pilot, filled)
    await wait_for(pilot, lambda: 0 < conv.max_scroll_y == conv.scroll_y)
    freeze()
    return conv


async def page_round(pilot: Pilot[Any], app: HermesApp) -> None:
    """PageUp PAGES times, then PageDown as often; each burst at once, as a held key
    sends them faster than they are carried out (the paging never pauses)."""
    conv = app.conversation
    for direction in (-1, 1):
        for _ in range(PAGES):
            app.action_page(direction)
        await wait_for(pilot, lambda: not conv.paging)


def live_strips() -> int:
    """Lines drawn by Textual that are still alive after a full collection."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Strip)


async def test_blocks_scrolled_past_are_released(
    make_app: MakeApp,
    session_id: str,
    tuned_gc: Callable[[], None],
    made: Made,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No pause in the scrolling ever frees anything (PageUp held down never pauses), and
    # a low bound on what waits to be freed, which a few rounds pass many times over.
    monkeypatch.setattr(controls, "PRUNE_COLLECT_DELAY", 3600.0)
    monkeypatch.setattr(controls, "PRUNE_COLLECT_WIDGETS", 40)
    app = make_app("--resume", session_id, tune_gc=True)
    async with app.run_test(size=SIZE) as pilot:
        conv = await painted(pilot, app, tuned_gc)
        first = len(made.alive)  # the first screen's blocks, frozen with start-up
        for _ in range(2):
            await page_round(pilot, app)
            # Alive: the first screen, the window, and fewer than 40 widgets let go of
            # but not yet collected; not all that the paging went past.
            assert len(made.alive) <= first + MAX_MOUNTED + 40
        assert conv.hi - conv.lo <= MAX_MOUNTED
        assert made.count > first + 4 * 40


async def test_memory_is_flat_after_the_first_pass(
    make_app: MakeApp, session_id: str, tuned_gc: Callable[[], None], made: Made
) -> None:
    """What a round of paging leaves behind (after a full collection) is the same after
    round 2 and after round 4: no block and no line it drew is kept by a cache."""
    app = make_app("--resume", session_id, tune_gc=True)
    async with app.run_test(size=SIZE) as pilot:
        conv = await painted(pilot, app, tuned_gc)
        kept: list[tuple[int, int]] = []
        for round_ in range(1, 5):
            await page_round(pilot, app)
            if round_ in (2, 4):
                kept.append((live_strips(), len(made.alive)))
        (strips_2, blocks_2), (strips_4, blocks_4) = kept
        assert conv.hi - conv.lo <= MAX_MOUNTED
        # Each round ends on the same window. Textual kept the lines of the last 1,024
        # widgets drawn (textual#6665): ~1,250 more strips a round here, as a round makes
        # ~230 widgets (more than 512 a round would fill that cache by round 2).
        assert abs(blocks_4 - blocks_2) <= 5
        assert strips_4 <= strips_2 * 1.1, (strips_2, strips_4)
        assert made.count > 4 * 80  # every round made (and let go of) ~100 blocks
