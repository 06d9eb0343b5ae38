"""Plan mode through the real engine and the scripted server: writes and commands are
refused while planning, exit_plan_mode asks the user (accept, keep planning, typed
feedback, stop), the mode before planning comes back, and `hermes -p --plan` prints
the plan."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hermes import protocol as p
from hermes.engine.engine import Engine
from hermes.engine.plan import ACCEPTED, HANDED_OVER, KEEP_PLANNING
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import drive, make_config, make_engine, of_type, run_hermes

PLAN = "## Plan\n\n1. add `sub` to calc.py\n2. test it"


def call(name: str, cid: str, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


def exit_plan(cid: str = "x1") -> ScriptedCall:
    return call("exit_plan_mode", cid, plan=PLAN)


async def planning(engine: Engine) -> None:
    await engine.start()
    await engine.submit(p.SetApprovalMode("plan"))


async def test_plan_mode_refuses_a_write_and_a_command_but_reads(
    server: ScriptedServer, workspace: Path, store: Store
) -> None:
    (workspace / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    server.add(
        ScriptedReply(
            tool_calls=(
                call("read_file", "r1", path="calc.py"),
                call("write_file", "w1", path="calc.py", content="oops\n"),
                call("terminal", "t1", command="touch made"),
            )
        ),
        ScriptedReply(text="I will plan instead."),
    )
    config = make_config(server.base_url, workspace, approval_mode="yolo")
    engine = make_engine(config, workspace, store, interactive=True)
    await planning(engine)
    events = await drive(engine, "add sub")
    await engine.submit(p.Shutdown())
    ends = {e.call_id: e for e in of_type(events, p.ToolCallEnd)}
    assert ends["r1"].status == "done" and "return a + b" in ends["r1"].output
    assert (ends["w1"].status, ends["t1"].status) == ("denied", "denied")
    assert ends["w1"].output == (
        "denied: plan mode: edits do not run while planning. Only reads run now: explore, "
        "then call exit_plan_mode with your plan for the user to accept"
    )
    assert ends["t1"].output.startswith("denied: plan mode: commands do not run while planning")
    assert (workspace / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert not (workspace / "made").exists()
    assert of_type(events, p.ApprovalRequested) == []  # refused, never asked, even in yolo
    sent = server.requests[-1].messages
    assert [m.get("tool_call_id") for m in sent if m["role"] == "tool"] == ["r1", "w1", "t1"]


async def test_accepting_the_plan_goes_back_to_the_mode_before_and_the_work_runs(
    server: ScriptedServer, workspace: Path, store: Store
) -> None:
    server.add(
        ScriptedReply(text="Here is my plan.", tool_calls=(exit_plan(),)),
        ScriptedReply(tool_calls=(call("write_file", "w1", path="calc.py", content="x = 1\n"),)),
        ScriptedReply(text="Done."),
    )
    config = make_config(server.base_url, workspace, approval_mode="auto-edit")
    engine = make_engine(config, workspace, store, interactive=True)
    await planning(engine)
    asked: list[p.ApprovalRequested] = []

    def accept(ev: p.ApprovalRequested) -> p.ApprovalDecision:
        asked.append(ev)
        return "once"

    events = await drive(engine, "add sub", accept)
    await engine.submit(p.Shutdown())
    assert [(a.call_id, a.name, a.preview, a.always_rules) for a in asked] == [
        ("x1", "exit_plan_mode", PLAN, ())
    ]
    assert of_type(events, p.ApprovalModeChanged) == [
        p.ApprovalModeChanged("plan", "auto-edit"),  # SetApprovalMode("plan"): Shift+Tab, /plan
        p.ApprovalModeChanged("auto-edit", "plan", "plan accepted"),
    ]
    ends = {e.call_id: e for e in of_type(events, p.ToolCallEnd)}
    assert ends["x1"].output == ACCEPTED.format(mode="auto-edit")
    assert ends["w1"].status == "done" and (workspace / "calc.py").read_text() == "x = 1\n"
    assert engine.state.policy.mode == "auto-edit"
    assert store.get_session(engine.state.id).approval_mode == "auto-edit"
    assert server.rejections == []


async def test_no_keeps_planning_and_a_typed_message_is_the_feedback(
    server: ScriptedServer, workspace: Path, store: Store
) -> None:
    server.add(
        ScriptedReply(tool_calls=(exit_plan("x1"),)),
        ScriptedReply(tool_calls=(exit_plan("x2"),)),
        ScriptedReply(text="Revised; waiting for you."),
    )
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True
    )
    await planning(engine)
    await engine.submit(p.UserTurn("add sub"))
    events: list[p.Event] = []

    async def collect() -> None:
        async for ev in engine.events():
            events.append(ev)
            if isinstance(ev, p.ApprovalRequested) and ev.call_id == "x1":
                await engine.submit(p.ApprovalReply("x1", "deny"))  # n
            elif isinstance(ev, p.ApprovalRequested) and ev.call_id == "x2":
                await engine.submit(p.UserTurn("use pytest, not unittest"))  # typing
            if isinstance(ev, p.TurnComplete | p.TurnAborted):
                return

    await asyncio.wait_for(collect(), 30)
    await engine.submit(p.Shutdown())
    ends = {e.call_id: e for e in of_type(events, p.ToolCallEnd)}
    assert (ends["x1"].output, ends["x2"].output) == (KEEP_PLANNING, KEEP_PLANNING)
    assert engine.state.policy.mode == "plan"
    last = server.requests[-1].messages
    assert [m["role"] for m in last[-3:]] == ["assistant", "tool", "user"]
    assert last[-1]["content"] == "use pytest, not unittest"
    assert of_type(events, p.ApprovalModeChanged) == [p.ApprovalModeChanged("plan", "ask")]
    assert server.rejections == []


async def test_esc_on_the_plan_stops_the_turn(
    server: ScriptedServer, workspace: Path, store: Store
) -> None:
    server.add(ScriptedReply(tool_calls=(exit_plan(),)))
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True
    )
    await planning(engine)
    events = await drive(engine, "add sub", lambda ev: "abort")
    await engine.submit(p.Shutdown())
    assert of_type(events, p.TurnAborted) == [
        p.TurnAborted("the user stopped the turn instead of accepting the plan")
    ]
    assert engine.state.policy.mode == "plan"


async def test_plan_toggles_and_a_resumed_session_remembers_the_mode_before(
    server: ScriptedServer, workspace: Path, store: Store
) -> None:
    config = make_config(server.base_url, workspace, approval_mode="auto-edit")
    engine = make_engine(config, workspace, store, interactive=True)
    await engine.start()
    await engine.submit(p.SetApprovalMode("plan"))
    assert engine.state.policy.mode == "plan"
    await engine.submit(p.SetApprovalMode("plan"))  # /plan again: back
    assert engine.state.policy.mode == "auto-edit"
    await engine.submit(p.SetApprovalMode("plan"))
    await engine.submit(p.Shutdown())

    from hermes.cli.main import build_parser
    from hermes.engine.startup import resumed_settings

    record = store.get_session(engine.state.id)
    assert record.approval_mode == "plan"
    args = build_parser().parse_args(["--base-url", server.base_url])
    ws, resumed_config = resumed_settings(record, workspace, config, args)
    server.add(ScriptedReply(tool_calls=(exit_plan(),)), ScriptedReply(text="Doing it."))
    again = make_engine(resumed_config, ws, store, interactive=True, resume=record)
    await again.start()
    events = await drive(again, "ready?", lambda ev: "once")
    await again.submit(p.Shutdown())
    assert of_type(events, p.ApprovalModeChanged) == [
        p.ApprovalModeChanged("auto-edit", "plan", "plan accepted")
    ]


def test_print_mode_plan_prints_the_plan_and_exits(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    (workspace / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    server.add(
        ScriptedReply(tool_calls=(call("read_file", "r1", path="calc.py"),)),
        ScriptedReply(text="Ready.", tool_calls=(exit_plan(),)),
    )
    run = run_hermes(
        "-p", "add sub", "--plan", "--base-url", server.base_url, cwd=workspace, home=hermes_home
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == PLAN + "\n"
    assert server.remaining == 0 and len(server.requests) == 2  # nothing after the plan
    tool_results = [m for m in server.requests[-1].messages if m["role"] == "tool"]
    assert len(tool_results) == 1  # the read; the plan's call ended the run
    from hermes.store.sessions import open_store

    with_store = open_store(hermes_home / "hermes.db")
    try:
        (record,) = with_store.list_sessions()
        stored = with_store.load_messages(record.id)
    finally:
        with_store.close()
    assert record.approval_mode == "plan"
    assert stored[-1].message.role == "tool" and stored[-1].message.content == HANDED_OVER
