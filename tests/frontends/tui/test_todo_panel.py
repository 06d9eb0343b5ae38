"""The to-do list pinned above the input: filled by the model's todo_write, folded by a
click or /todos, shown again on resume. The widget's picture is a snapshot."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from textual.app import App, ComposeResult

from hermes import protocol as p
from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.input_box import PromptInput
from hermes.frontends.tui.todo_panel import TodoPanel
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, type_text, wait_for

ITEMS = (
    p.TodoItem("read the failing test", "completed"),
    p.TodoItem("find where the total is rounded", "in_progress"),
    p.TodoItem("fix the rounding", "pending"),
    p.TodoItem("run the suite", "pending"),
)
SnapCompare = Callable[..., bool]


def todo_call(cid: str = "w1") -> ScriptedCall:
    items = [{"content": i.content, "status": i.status} for i in ITEMS]
    return ScriptedCall("todo_write", json.dumps({"items": items}), cid)


class PanelHost(App[None]):
    """The panel over an input, as the app stacks them."""

    CSS_PATH = str(Path(HermesApp.CSS_PATH))

    def __init__(self, folded: bool) -> None:
        super().__init__()
        self.folded = folded

    def compose(self) -> ComposeResult:
        panel = TodoPanel(id="todos")
        panel.show(ITEMS)
        if self.folded:
            panel.toggle()
        yield panel


def test_the_panel_unfolded(snap_compare: SnapCompare) -> None:
    assert snap_compare(PanelHost(folded=False), terminal_size=(70, 8))


def test_the_panel_folded(snap_compare: SnapCompare) -> None:
    assert snap_compare(PanelHost(folded=True), terminal_size=(70, 4))


async def test_todo_write_pins_the_list_above_the_input_and_it_folds(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(ScriptedReply(tool_calls=(todo_call(),)), ScriptedReply(text="Working on it."))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.todo_panel
        assert not panel.display  # no list yet
        await type_text(pilot, "fix the total")
        await pilot.press("enter")
        await wait_for(pilot, lambda: panel.display and not app.engine.busy)
        assert panel.items == ITEMS
        assert panel.region.y + panel.region.height <= app.query_one(PromptInput).region.y
        unfolded = panel.render_list().plain
        assert unfolded.splitlines() == [
            "To-do 1/4 done   (click or /todos to fold)",
            " ✓ read the failing test",
            " ▸ find where the total is rounded",
            " ○ fix the rounding",
            " ○ run the suite",
        ]
        await type_text(pilot, "/todos")
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert panel.folded and panel.render_list().plain == (
            "To-do 1/4 done  ▸ find where the total is rounded   (click or /todos to unfold)"
        )
        await pilot.click(TodoPanel)
        await pilot.pause(0.05)
        assert not panel.folded


async def test_a_resumed_session_shows_its_list(server: ScriptedServer, make_app: MakeApp) -> None:
    server.add(ScriptedReply(tool_calls=(todo_call(),)), ScriptedReply(text="Working on it."))
    first = make_app()
    async with first.run_test(size=SIZE) as pilot:
        await type_text(pilot, "fix the total")
        await pilot.press("enter")
        await wait_for(pilot, lambda: first.todo_panel.display and not first.engine.busy)
        session = first.engine.state.id
    again = make_app("--resume", session)
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: again.todo_panel.display)
        assert again.todo_panel.items == ITEMS
