"""Pilot: every approval key path, and Esc during a running command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hermes import protocol as p
from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.approval import ApprovalBar
from hermes.frontends.tui.input_box import PromptInput
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, call, screen_text, type_text, wait_for


def record(app: HermesApp) -> list[p.Event]:
    """Every event the app handles, in order."""
    events: list[p.Event] = []
    handle = app.handle_event

    async def recording(event: p.Event) -> None:
        events.append(event)
        await handle(event)

    app.handle_event = recording  # type: ignore[method-assign]
    return events


def of(events: list[p.Event], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


async def send(pilot: Any, text: str) -> None:
    await type_text(pilot, text)
    await pilot.press("enter")


def bar(app: HermesApp) -> ApprovalBar | None:
    focused = app.focused
    return focused if isinstance(focused, ApprovalBar) and focused.active else None


async def test_approve_once_runs_the_command_and_focus_returns(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch made.txt"),)),
        ScriptedReply(text="Made it."),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "make a file")
        await wait_for(pilot, lambda: bar(app) is not None)
        assert "touch made.txt" in screen_text(app)
        assert not (workspace / "made.txt").exists()
        await pilot.press("enter")  # Enter alone never approves
        await pilot.pause(0.1)
        assert not (workspace / "made.txt").exists() and bar(app) is not None
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.engine.busy and "Made it." in screen_text(app))
        assert (workspace / "made.txt").exists()
        assert isinstance(app.focused, PromptInput)


async def test_always_grants_the_scope_so_the_second_call_does_not_ask(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch one.txt"),)),
        ScriptedReply(tool_calls=(call("terminal", "t2", command="touch two.txt"),)),
        ScriptedReply(text="Both made."),
    )
    app = make_app()
    events = record(app)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "make two files")
        await wait_for(pilot, lambda: bar(app) is not None)
        assert "always this session: terminal:touch" in screen_text(app)
        await pilot.press("a")
        await wait_for(pilot, lambda: not app.engine.busy and "Both made." in screen_text(app))
    assert (workspace / "one.txt").exists() and (workspace / "two.txt").exists()
    assert [r.call_id for r in of(events, p.ApprovalRequested)] == ["t1"]
    assert ("t1", "always") in [(r.call_id, r.decision) for r in of(events, p.ApprovalResolved)]


async def test_deny_tells_the_model_and_the_turn_goes_on(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch no.txt"),)),
        ScriptedReply(text="Understood, I will not."),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "make a file")
        await wait_for(pilot, lambda: bar(app) is not None)
        await pilot.press("n")
        await wait_for(pilot, lambda: not app.engine.busy and "I will not" in screen_text(app))
        assert "denied" in screen_text(app)
    assert not (workspace / "no.txt").exists()
    tool_msgs = [m for m in server.requests[1].messages if m["role"] == "tool"]
    assert "denied by the user" in tool_msgs[0]["content"]


async def test_esc_during_an_approval_denies_and_stops_the_turn(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch no.txt"),)),
        ScriptedReply(text="Fresh start."),
    )
    app = make_app()
    events = record(app)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "make a file")
        await wait_for(pilot, lambda: bar(app) is not None)
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(of(events, p.TurnAborted)))
        assert len(server.requests) == 1  # the model was not asked again
        assert isinstance(app.focused, PromptInput)
        # The history stays valid: the next message goes through.
        await send(pilot, "ok")
        await wait_for(pilot, lambda: "Fresh start." in screen_text(app))
    assert not (workspace / "no.txt").exists()
    assert server.rejections == []
    assert of(events, p.ApprovalResolved)[0].decision == "abort"


async def test_esc_during_a_running_command_kills_its_process_group(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    script = "echo $$ > shell.pid; sleep 60 & echo $! > child.pid; echo started; wait"
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command=script),)),
        ScriptedReply(text="After the interrupt."),
    )
    # $$ and $! are host PIDs only outside the sandbox's PID namespace.
    app = make_app("--approval-mode", "yolo", "--no-sandbox")
    events = record(app)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "run it")
        await wait_for(pilot, lambda: "started" in app.transcript.tools["t1"].live)
        await wait_for(
            pilot, lambda: "running" in screen_text(app) and "\nstarted" in screen_text(app)
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(of(events, p.TurnAborted)))
        pids = [int((workspace / f).read_text()) for f in ("shell.pid", "child.pid")]
        await wait_for(pilot, lambda: not any(_alive(pid) for pid in pids))
        assert "turn stopped" in screen_text(app)
        await send(pilot, "go on")
        await wait_for(pilot, lambda: "After the interrupt." in screen_text(app))
    assert server.rejections == []
    ends = of(events, p.ToolCallEnd)
    assert ends and ends[0].call_id == "t1" and ends[0].status != "done"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# --------------------------------------------------------------------------- typing guard


class Clock:
    """The guard's clock, moved by hand: typing pace without wall-clock dependence."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def type_at_pace(pilot: Any, clock: Clock, text: str, step: float = 0.15) -> None:
    """Type ``text`` one key every ``step`` seconds of the test clock (an ordinary pace)."""
    for ch in text:
        clock.now += step
        await type_text(pilot, ch)


def shown_bar(app: HermesApp) -> ApprovalBar | None:
    """The active approval bar, focused or not."""
    pending = app.transcript.approvals
    block = app.conversation.tool_block(pending[0]) if pending else None
    found = block.bar if block is not None else None
    return found if found is not None and found.active else None


async def test_typing_never_answers_an_approval_that_arrives_mid_typing(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    """Issue 15, finding 7: ``yes and also update the docs`` typed while the approval
    arrives lands in the input whole; nothing is approved until a deliberate key."""
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch approved.txt"),)),
        ScriptedReply(text="Left it alone."),
    )
    clock = Clock()
    app = make_app(clock=clock, approval_arm_seconds=0.5)
    events = record(app)
    async with app.run_test(size=SIZE) as pilot:
        await type_at_pace(pilot, clock, "make a file")
        await pilot.press("enter")
        await type_at_pace(pilot, clock, "yes")  # before the approval is on screen
        await wait_for(pilot, lambda: shown_bar(app) is not None)
        assert isinstance(app.focused, PromptInput)
        assert "waiting for a deliberate key: press y / a / n" in screen_text(app)
        await type_at_pace(pilot, clock, " and also update the docs")  # after it appeared
        await pilot.pause(0.25)  # the bar looks again (it would take the keys if armed)
        assert app.prompt_input.text == "yes and also update the docs"
        assert isinstance(app.focused, PromptInput)
        assert of(events, p.ApprovalResolved) == []
        assert not (workspace / "approved.txt").exists()
        # Typing stops: once armed the bar takes a key, and says which.
        clock.now += 0.5
        await wait_for(pilot, lambda: bar(app) is not None)
        assert "press y / a / n:" in screen_text(app)
        await pilot.press("n")
        await wait_for(pilot, lambda: not app.engine.busy and "Left it alone." in screen_text(app))
        assert app.prompt_input.text == "yes and also update the docs"
    assert [(r.call_id, r.decision) for r in of(events, p.ApprovalResolved)] == [("t1", "deny")]
    assert not (workspace / "approved.txt").exists()


async def test_a_key_that_is_not_an_answer_goes_to_the_input_and_disarms(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch approved.txt"),)),
        ScriptedReply(text="Made it."),
    )
    clock = Clock()
    app = make_app(clock=clock, approval_arm_seconds=0.5)
    events = record(app)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "make a file")
        clock.now += 1.0
        await wait_for(pilot, lambda: bar(app) is not None)  # armed: it has the keys
        await type_text(pilot, "k")  # typing again: text, not an answer
        await wait_for(pilot, lambda: isinstance(app.focused, PromptInput))
        await type_text(pilot, "ya")  # straight after: still typing
        await pilot.pause(0.25)
        assert app.prompt_input.text == "kya"
        assert of(events, p.ApprovalResolved) == []
        clock.now += 0.5
        await wait_for(pilot, lambda: bar(app) is not None)
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.engine.busy and "Made it." in screen_text(app))
    assert [(r.call_id, r.decision) for r in of(events, p.ApprovalResolved)] == [("t1", "once")]
    assert (workspace / "approved.txt").exists()
