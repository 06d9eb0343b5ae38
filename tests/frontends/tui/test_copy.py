"""Pilot: text in answers, code blocks and tool output can be selected and copied;
Ctrl+C copies a selection, else quits as before; /copy and /copy code (issue 17,
defect 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widget import Widget

from hermes.frontends.tui.blocks import AssistantBlock
from hermes.frontends.tui.tool_block import ToolBlock
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, call, screen_text, wait_for
from tests.frontends.tui.test_approvals import send

ANSWER = (
    "Here is the fix:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nRun the tests after.\n"
)


async def drag(pilot: Any, widget: Widget, start: tuple[int, int], end: tuple[int, int]) -> None:
    """Select from ``start`` to ``end`` (offsets in ``widget``) with the mouse."""
    await pilot.mouse_down(widget, offset=start)
    await pilot.hover(widget, offset=end)
    await pilot.mouse_up(widget, offset=end)
    await pilot.pause()


def answer_view(app: Any) -> Widget:
    block = list(app.conversation.query(AssistantBlock))[-1]
    return block.children[-1]


async def test_an_answer_and_its_code_can_be_selected_and_copied(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(ScriptedReply(text=ANSWER))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "fix add")
        await wait_for(pilot, lambda: not app.engine.busy and "Run the tests" in screen_text(app))
        await pilot.pause(0.2)
        view = answer_view(app)
        await drag(pilot, view, (0, 0), (40, view.size.height - 1))
        await pilot.press("ctrl+c")
        copied = app.clipboard
        assert copied.startswith("Here is the fix:")
        assert "def add(a, b):\n    return a + b" in copied  # code as it is, no margins
        assert "Run the tests after." in copied
        assert not any(line.endswith(" ") for line in copied.splitlines())
        # That Ctrl+C copied; it did not arm quitting. Without a selection: as before.
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.return_code is None
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.return_code is not None)


async def test_tool_output_can_be_selected_and_copied(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="echo alpha; echo beta"),)),
        ScriptedReply(text="ran it"),
    )
    app = make_app("--approval-mode", "yolo")
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "run it")
        await wait_for(pilot, lambda: not app.engine.busy and "ran it" in screen_text(app))
        await pilot.pause(0.2)
        block = list(app.conversation.query(ToolBlock))[-1]
        body = block.children[-1] if block.bar is None else block.children[-2]
        await drag(pilot, body, (0, 0), (20, 1))
        await pilot.press("ctrl+c")
        assert app.clipboard.splitlines()[:2] == ["alpha", "beta"]


async def test_slash_copy_copies_the_last_answer_or_its_code(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(ScriptedReply(text=ANSWER))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/copy")
        await wait_for(pilot, lambda: "nothing to copy yet" in screen_text(app))
        await send(pilot, "fix add")
        await wait_for(pilot, lambda: not app.engine.busy and "Run the tests" in screen_text(app))
        await send(pilot, "/copy")
        await wait_for(pilot, lambda: "copied the last answer" in screen_text(app))
        assert app.clipboard == ANSWER
        await send(pilot, "/copy code")
        await wait_for(pilot, lambda: "copied the last code block" in screen_text(app))
        assert app.clipboard == "def add(a, b):\n    return a + b"
