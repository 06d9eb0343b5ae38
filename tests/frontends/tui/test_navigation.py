"""Pilot: moving through a long session (issue 17, defect 5): PageUp/PageDown presses add
up instead of being dropped, Home/End jump to the first and last message, Ctrl+F finds
and highlights matches anywhere in the session, and the scrollbar is the whole session's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events

from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.input_box import PromptInput
from hermes.store.sessions import open_store
from hermes.testing.scripted.server import ScriptedServer
from tests.frontends.tui.conftest import SIZE, MakeApp, _text_of, screen_text, type_text, wait_for
from tests.frontends.tui.seed import long_session

MESSAGES = 1200  # 300 exchanges: 900 entries, far more than the window


def first_visible(app: HermesApp) -> int:
    """The index (in the transcript) of the first entry on screen."""
    conv = app.conversation
    for i, widget in enumerate(conv.children):
        if widget.virtual_region.bottom > conv.scroll_y:
            return conv.lo + i
    return conv.hi


def visible_text(app: HermesApp) -> str:
    """The text of the blocks on screen."""
    conv = app.conversation
    top, bottom = conv.scroll_y, conv.scroll_y + conv.scrollable_content_region.height
    shown = [
        w for w in conv.children if w.virtual_region.bottom > top and w.virtual_region.y < bottom
    ]
    return "\n".join(_text_of(w) for w in shown)


async def resumed_long_session(
    pilot_app: Any, server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> HermesApp:
    store = open_store()
    sid = long_session(store, workspace, MESSAGES)
    store.close()
    return make_app("--resume", sid)


def burst(app: HermesApp, key: str, count: int) -> None:
    """``count`` presses of ``key`` arriving at once (a terminal's key repeat, a paste of
    escape sequences), not one by one after the app went idle as Pilot presses them."""
    for _ in range(count):
        app.post_message(events.Key(key, None))


async def handled(pilot: Any) -> None:
    """Wait until the keys posted so far have reached the app (messages are in order)."""
    await pilot.press("f24")


async def settle(pilot: Any, app: HermesApp) -> None:
    conv = app.conversation
    await wait_for(pilot, lambda: not getattr(conv, "paging", False))
    await pilot.pause(0.1)


async def test_page_presses_add_up(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    app = await resumed_long_session(None, server, make_app, workspace)
    async with app.run_test(size=SIZE) as pilot:
        conv = app.conversation
        await wait_for(pilot, lambda: conv.hi == len(app.transcript.entries) > 800)
        await pilot.pause(0.2)
        start = first_visible(app)
        burst(app, "pageup", 30)  # as fast as a held key repeats: none may be dropped
        await handled(pilot)
        await settle(pilot, app)
        up = first_visible(app)
        rows = 30 * (conv.scrollable_content_region.height - 1)
        # Each entry is at most ~20 rows here, so 30 pages pass well over 60 entries.
        assert start - up >= rows // 20, (start, up)
        burst(app, "pagedown", 30)
        await handled(pilot)
        await settle(pilot, app)
        assert abs(first_visible(app) - start) <= 3


async def test_home_and_end_jump_to_the_first_and_last_message(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    app = await resumed_long_session(None, server, make_app, workspace)
    async with app.run_test(size=SIZE) as pilot:
        conv = app.conversation
        await wait_for(pilot, lambda: conv.hi == len(app.transcript.entries) > 800)
        await pilot.press("home")
        await wait_for(pilot, lambda: "question 0:" in visible_text(app))
        assert conv.lo == 0
        await pilot.press("end")
        await wait_for(pilot, lambda: "handler_299" in visible_text(app))
        assert conv.hi == len(app.transcript.entries)
        # With text in the input, Home and End move its cursor, not the conversation.
        await type_text(pilot, "abc")
        await pilot.press("home")
        await pilot.pause(0.1)
        assert app.prompt_input.cursor_location == (0, 0)
        assert "handler_299" in visible_text(app)


async def test_ctrl_f_finds_and_highlights_matches_anywhere(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    app = await resumed_long_session(None, server, make_app, workspace)
    async with app.run_test(size=SIZE) as pilot:
        conv = app.conversation
        await wait_for(pilot, lambda: conv.hi == len(app.transcript.entries) > 800)
        await pilot.press("ctrl+f")
        await type_text(pilot, "handler 7 do")  # question 7 only, far out of the window
        await wait_for(pilot, lambda: "question 7: what does handler 7 do?" in visible_text(app))
        current = [w for w in conv.children if w.has_class("search-current")]
        assert len(current) == 1 and "question 7:" in _text_of(current[0])
        content = current[0].content  # type: ignore[attr-defined]
        assert isinstance(content, Text)
        marked = [
            content.plain[s.start : s.end] for s in content.spans if "reverse" in str(s.style)
        ]
        assert marked == ["handler 7 do"]  # the match itself is marked
        assert "1 of 1" in screen_text_bottom(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.focused, PromptInput))
        assert not [w for w in conv.children if w.has_class("search-current")]
        # A word in many places: newest first, Enter goes to older ones.
        await pilot.press("ctrl+f")
        await type_text(pilot, "retries")
        await wait_for(pilot, lambda: "of 300" in screen_text_bottom(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "2 of 300" in screen_text_bottom(app))
        await wait_for(pilot, lambda: "handler_298" in visible_text(app))


def screen_text_bottom(app: HermesApp) -> str:
    """What the bar above the input says."""
    bar = app.query_one("#search")
    return _text_of(bar)


async def test_the_scrollbar_is_the_whole_sessions(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    from hermes.frontends.tui.scrollbar import SessionScrollbar

    app = await resumed_long_session(None, server, make_app, workspace)
    async with app.run_test(size=SIZE) as pilot:
        conv = app.conversation
        await wait_for(pilot, lambda: conv.hi == len(app.transcript.entries) > 800)
        await pilot.pause(0.2)
        bar = app.query_one(SessionScrollbar)
        first, rows = bar.thumb()
        assert first + rows >= bar.size.height - 1  # at the end: the thumb at the bottom
        assert rows <= 2  # a screenful of 900 entries is a sliver
        await pilot.press("home")
        await wait_for(pilot, lambda: bar.thumb()[0] == 0)
        await pilot.click(bar, offset=(0, bar.size.height // 2))
        n = len(app.transcript.entries)
        await wait_for(pilot, lambda: abs(first_visible(app) - n // 2) < n // 10)
        assert "question" in screen_text(app)
