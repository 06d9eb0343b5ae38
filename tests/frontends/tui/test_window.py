"""Pilot: a long session stays a window of widgets; scrolling loads more and prunes."""

from __future__ import annotations

from pathlib import Path

from hermes.frontends.tui.conversation import BATCH, MAX_MOUNTED, WINDOW
from hermes.store.sessions import open_store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, screen_text, wait_for
from tests.frontends.tui.seed import long_session
from tests.frontends.tui.test_approvals import send


async def test_long_session_mounts_a_window_and_scrolls_through_history(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    store = open_store()
    sid = long_session(store, workspace, 2000)
    store.close()
    # Resuming 2,000 messages overflows the context: hermes compacts first (one request).
    server.add(
        ScriptedReply(text="Summary of the earlier work."), ScriptedReply(text="the newest answer")
    )
    app = make_app("--resume", sid)
    async with app.run_test(size=SIZE) as pilot:
        conv = app.conversation
        # 1,500 entries of history after the first screen's
        await wait_for(pilot, lambda: len(app.transcript.entries) == 1501 and conv.hi == 1501)
        assert conv.hi - conv.lo <= WINDOW + BATCH
        assert len(conv.children) == conv.hi - conv.lo
        assert "question 499" in screen_text(app)
        # Scroll to the top repeatedly: older entries mount, the bottom is pruned.
        lo = conv.lo
        for _ in range(12):
            conv.scroll_home(animate=False, immediate=True)
            await pilot.pause(0.05)
        await wait_for(pilot, lambda: conv.lo < lo)
        assert conv.hi - conv.lo <= MAX_MOUNTED
        assert len(conv.children) == conv.hi - conv.lo
        # A new message brings the view back to the end.
        await send(pilot, "one more")
        await wait_for(pilot, lambda: "the newest answer" in screen_text(app))
        assert conv.hi == len(app.transcript.entries)
        assert conv.hi - conv.lo <= WINDOW + BATCH
