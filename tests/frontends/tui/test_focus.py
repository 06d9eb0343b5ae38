"""Pilot: a focused tool block never swallows typing (issue 17, defect 1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.input_box import PromptInput
from hermes.frontends.tui.tool_block import ToolBlock
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, call, screen_text, type_text, wait_for
from tests.frontends.tui.test_approvals import send


def answered(app: HermesApp, text: str) -> Callable[[], bool]:
    return lambda: not app.engine.busy and text in screen_text(app)


def _reads(n: int) -> ScriptedReply:
    return ScriptedReply(
        text="reading",
        tool_calls=tuple(call("read_file", f"r{i}", path="notes.txt") for i in range(n)),
    )


async def test_tab_then_typing_goes_to_the_input_and_esc_returns(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "notes.txt").write_text("a note\n")
    server.add(_reads(1), ScriptedReply(text="read it"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "read the notes")
        await wait_for(pilot, lambda: not app.engine.busy and "read it" in screen_text(app))
        await pilot.press("tab")
        block = app.focused
        assert isinstance(block, ToolBlock)
        assert block.entry.expanded is False
        await type_text(pilot, "hello world")  # the space must not toggle the block
        assert isinstance(app.focused, PromptInput)
        assert app.prompt_input.text == "hello world"
        assert block.entry.expanded is False
        await pilot.press("tab")
        assert app.focused is block
        await pilot.press("enter")  # Enter expands a focused block...
        assert block.entry.expanded is True
        await pilot.press("escape")  # ...and Esc goes back to the input
        assert isinstance(app.focused, PromptInput)
        assert app.prompt_input.text == "hello world"


async def test_a_clicked_block_passes_typing_on(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "notes.txt").write_text("a note\n")
    server.add(_reads(1), ScriptedReply(text="read it"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "read the notes")
        await wait_for(pilot, lambda: not app.engine.busy and "read it" in screen_text(app))
        block = next(iter(app.conversation.query(ToolBlock)))
        await pilot.click(block)
        assert app.focused is block
        await type_text(pilot, "typed after a click")
        assert app.prompt_input.text == "typed after a click"


async def test_the_focused_block_is_highlighted_and_in_view(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "notes.txt").write_text("a note\n")
    # Several turns, so the first tool block is pages above the end.
    for i in range(6):
        server.add(_reads(1), ScriptedReply(text=f"answer {i}\n\n" + "line\n\n" * 12))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for i in range(6):
            await send(pilot, f"question {i}")
            await wait_for(pilot, answered(app, f"answer {i}"))
        conv = app.conversation
        first = next(iter(conv.query(ToolBlock)))
        await pilot.press("tab")
        block = app.focused
        assert isinstance(block, ToolBlock)
        assert block is not first  # the block in view, not one pages up
        await pilot.pause(0.1)
        top, bottom = conv.scroll_y, conv.scroll_y + conv.scrollable_content_region.height
        assert top <= block.virtual_region.y < bottom
        # Focus shows: the focused style wins over the finished call's.
        done_style = first.styles.border_left
        assert block.has_class("state-done")
        assert block.styles.border_left != done_style
        assert block.styles.background != first.styles.background
        # A block focused above the view is scrolled to.
        first.focus()
        await pilot.pause(0.1)
        top, bottom = conv.scroll_y, conv.scroll_y + conv.scrollable_content_region.height
        assert top <= first.virtual_region.y < bottom
