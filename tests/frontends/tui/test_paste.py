"""Pilot: pastes as terminals send them (issue 17, defect 8): line breaks as carriage
returns collapse like newlines do, and the placeholder counts the lines right."""

from __future__ import annotations

from textual import events

from hermes.frontends.tui.input_box import PromptInput
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, screen_text, wait_for

ROWS = [f"row {i}" for i in range(30)]


async def test_a_paste_with_carriage_returns_collapses(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(ScriptedReply(text="got it"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        box = app.query_one(PromptInput)
        box.post_message(events.Paste("\r".join(ROWS)))
        await pilot.pause()
        assert box.text == "[pasted 30 lines #1]"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "got it" in screen_text(app))
    assert server.requests[0].messages[-1]["content"] == "\n".join(ROWS)


async def test_the_placeholder_counts_lines_not_line_breaks(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        box = app.query_one(PromptInput)
        box.post_message(events.Paste("\n".join(ROWS) + "\n"))  # a final newline, as copied
        await pilot.pause()
        assert box.text == "[pasted 30 lines #1]"
        box.load_text("")
        box.post_message(events.Paste("\r\n".join(ROWS) + "\r\n"))
        await pilot.pause()
        assert box.text == "[pasted 30 lines #2]"


async def test_a_short_paste_with_carriage_returns_keeps_its_lines(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        box = app.query_one(PromptInput)
        box.post_message(events.Paste("one\rtwo\rthree"))
        await pilot.pause()
        assert box.text == "one\ntwo\nthree"
