"""Pilot: plan mode (Shift+Tab into it, a refused write, the plan accepted with y and
never with Enter) and subagents (a child's approval answered in the parent's screen,
Esc stopping the parent and every child)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.approval import ApprovalBar
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.engine.test_subagents import Router, task
from tests.frontends.tui.conftest import SIZE, MakeApp, call, screen_text, type_text, wait_for

PLAN = "## Plan\n\n1. add `sub` to calc.py\n2. test it"


@pytest.fixture
def router() -> Router:
    return Router()


@pytest.fixture
def server(router: Router) -> Iterator[ScriptedServer]:
    """The app's model: one script per conversation (tests.engine.test_subagents)."""
    with ScriptedServer(router) as srv:
        yield srv


def bar(app: HermesApp) -> ApprovalBar | None:
    focused = app.focused
    return focused if isinstance(focused, ApprovalBar) and focused.active else None


async def send(pilot: object, text: str) -> None:
    await type_text(pilot, text)  # type: ignore[arg-type]
    await pilot.press("enter")  # type: ignore[attr-defined]


async def test_shift_tab_reaches_plan_mode_and_y_accepts_the_plan_enter_never_does(
    router: Router, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    router.add(
        "add sub",
        ScriptedReply(
            tool_calls=(
                call("read_file", "r1", path="calc.py"),
                call("write_file", "w1", path="calc.py", content="broken\n"),
            )
        ),
        ScriptedReply(
            text="Here is the plan.",
            tool_calls=(ScriptedCall("exit_plan_mode", json.dumps({"plan": PLAN}), "x1"),),
        ),
        ScriptedReply(text="Plan accepted; starting."),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.link.ready)
        before = "ask"
        for _ in range(4):  # ask -> auto-edit -> (auto, when sandboxed) -> plan
            if app.engine.state.policy.mode == "plan":
                break
            before = app.engine.state.policy.mode
            await pilot.press("shift+tab")
            await pilot.pause(0.05)
        assert app.engine.state.policy.mode == "plan"
        await wait_for(pilot, lambda: app.transcript.status.approval_mode == "plan")
        await send(pilot, "add sub")
        await wait_for(pilot, lambda: bar(app) is not None)
        w1 = app.transcript.tools.get("w1")
        assert w1 is None or w1.state == "denied"
        assert (workspace / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
        shown = screen_text(app)
        assert "The plan is ready. Accept it and leave plan mode?" in shown
        await pilot.press("enter")  # Enter never accepts
        await pilot.pause(0.2)
        assert app.engine.state.policy.mode == "plan" and bar(app) is not None
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.engine.busy)
        assert before in ("auto-edit", "auto")  # the stop before plan
        assert app.engine.state.policy.mode == before  # back to the mode chosen before
        assert app.transcript.status.approval_mode == before
        assert "Plan accepted; starting." in screen_text(app)
        assert f"plan accepted: approval mode {before}" in screen_text(app)


async def test_a_childs_approval_is_answered_in_the_parent_screen(
    router: Router, make_app: MakeApp, workspace: Path
) -> None:
    router.add(
        "make it",
        ScriptedReply(tool_calls=(task("t1", "file maker", "Create made.txt."),)),
        ScriptedReply(text="The subagent made it."),
    )
    router.add(
        "Create made.txt.",
        ScriptedReply(tool_calls=(call("terminal", "c1", command="touch made.txt"),)),
        ScriptedReply(text="made.txt exists now."),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "make it")
        await wait_for(pilot, lambda: bar(app) is not None)
        asking = app.transcript.tools["t1/c1"]
        assert (asking.agent, asking.name, asking.state) == ("file maker", "terminal", "approval")
        assert "[file maker] terminal" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert not (workspace / "made.txt").exists()
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.engine.busy)
        assert (workspace / "made.txt").exists()
        assert "The subagent made it." in screen_text(app)
        task_entry = next(e for e in app.transcript.entries if getattr(e, "call_id", "") == "t1")
        assert task_entry.state == "done" and task_entry.output == "made.txt exists now."  # type: ignore[attr-defined]
        assert task_entry.agent_usage.startswith("↑")  # type: ignore[attr-defined]


async def test_esc_stops_the_parent_and_every_child(
    router: Router, server: ScriptedServer, make_app: MakeApp
) -> None:
    stall = ScriptedReply(
        text="Looking around and", chunk_size=5, stall_after_chunks=3, stall_seconds=60
    )
    router.add(
        "look",
        ScriptedReply(
            tool_calls=(
                task("t1", "one", "Look at one.", "explore"),
                task("t2", "two", "Look at two.", "explore"),
            )
        ),
    )
    router.add("Look at one.", stall)
    router.add("Look at two.", stall)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "look")
        await wait_for(pilot, lambda: server.stalls >= 2)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.engine.busy)
        states = {
            e.call_id: e.state  # type: ignore[attr-defined]
            for e in app.transcript.entries
            if getattr(e, "call_id", "") in ("t1", "t2")
        }
        assert states == {"t1": "interrupted", "t2": "interrupted"}
        assert app.engine.state.children == {}
        assert "turn stopped: interrupted by user" in screen_text(app)
