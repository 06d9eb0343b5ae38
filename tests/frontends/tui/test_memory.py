"""Pilot: scrolling a long session keeps memory bounded: blocks that leave the window
are released, with the collector tuned as hermes runs it (issue 17, defect 4)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from hermes.frontends.tui.conversation import MAX_MOUNTED, Conversation
from hermes.store.sessions import open_store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, wait_for
from tests.frontends.tui.seed import long_session


@pytest.fixture
def tuned_gc() -> Iterator[None]:
    """hermes' process-wide collector settings for one test, restored after."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.collect()


async def test_blocks_scrolled_past_are_released(
    server: ScriptedServer,
    make_app: MakeApp,
    workspace: Path,
    tuned_gc: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = open_store()
    sid = long_session(store, workspace, 1200)
    store.close()
    server.add(ScriptedReply(text="Summary of the earlier work."))
    alive: weakref.WeakSet[object] = weakref.WeakSet()
    made = [0]
    make = Conversation._make

    def counted(self: Conversation, entry: object) -> object:
        block = make(self, entry)  # type: ignore[arg-type]
        alive.add(block)
        made[0] += 1
        return block

    monkeypatch.setattr(Conversation, "_make", counted)
    app = make_app("--resume", sid)
    app.options.tune_gc = True  # as hermes runs: collections rare, start-up frozen
    async with app.run_test(size=SIZE) as pilot:
        conv = app.conversation
        await wait_for(pilot, lambda: conv.hi == len(app.transcript.entries) > 800)
        for _ in range(3):  # up a long way and back: hundreds of blocks made and dropped
            for _ in range(60):
                await pilot.press("pageup")
                await pilot.pause(0.01)
            await wait_for(pilot, lambda: not conv.paging)
            for _ in range(60):
                await pilot.press("pagedown")
                await pilot.pause(0.01)
            await wait_for(pilot, lambda: not conv.paging)
        assert made[0] > 8 * MAX_MOUNTED
        # What left the window is let go of once scrolling pauses: what stays alive is
        # bounded by the window (Textual keeps the previous child list cached), not by
        # how far the user scrolled.
        await wait_for(pilot, lambda: len(alive) <= 3 * MAX_MOUNTED)
        assert conv.hi - conv.lo <= MAX_MOUNTED
