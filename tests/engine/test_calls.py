"""The tool-call phase (issue 17): an edit that cannot apply fails without asking, and
each result's diff, exit code and duration are stored for resume."""

from __future__ import annotations

import json
from pathlib import Path

from hermes import protocol as p
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import drive, make_config, make_engine, of_type, run_prompt


def patch_call(cid: str, old: str, new: str) -> ScriptedCall:
    return ScriptedCall(
        "patch", json.dumps({"path": "a.py", "old_string": old, "new_string": new}), cid
    )


async def test_a_patch_that_cannot_apply_is_not_offered(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    server.add(
        ScriptedReply(tool_calls=(patch_call("p1", "x = 2", "x = 3"),)),
        ScriptedReply(text="I will read it again."),
    )
    config = make_config(server.base_url, workspace, approval_mode="ask")
    engine = make_engine(config, workspace, store, interactive=True)
    events = await run_prompt(engine, "change x", answer=lambda ev: "once")
    assert of_type(events, p.ApprovalRequested) == []
    assert of_type(events, p.ApprovalResolved) == []
    [end] = of_type(events, p.ToolCallEnd)
    assert (end.status, end.output) == (
        "failed",
        "old_string not found in a.py; read the file again and copy the exact text",
    )
    assert (workspace / "a.py").read_text() == "x = 1\n"


async def test_a_patch_that_applies_is_still_asked_about_with_its_diff(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    server.add(
        ScriptedReply(tool_calls=(patch_call("p1", "x = 1", "x = 2"),)),
        ScriptedReply(text="done"),
    )
    config = make_config(server.base_url, workspace, approval_mode="ask")
    engine = make_engine(config, workspace, store, interactive=True)
    events = await run_prompt(engine, "change x", answer=lambda ev: "once")
    [asked] = of_type(events, p.ApprovalRequested)
    assert "-x = 1\n+x = 2" in asked.preview
    [end] = of_type(events, p.ToolCallEnd)
    assert end.status == "done" and end.diff == asked.preview
    assert end.duration is not None and end.duration >= 0
    state = store.call_states(engine.state.id)["p1"]
    assert (state.status, state.diff, state.duration) == ("done", end.diff, end.duration)


async def test_a_command_s_exit_code_is_stored(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    command = ScriptedCall("terminal", json.dumps({"command": "exit 4"}), "t1")
    server.add(ScriptedReply(tool_calls=(command,)), ScriptedReply(text="it failed"))
    config = make_config(server.base_url, workspace, approval_mode="yolo")
    engine = make_engine(config, workspace, store)
    await run_prompt(engine, "run it")
    state = store.call_states(engine.state.id)["t1"]
    assert (state.status, state.exit_code) == ("failed", 4)


async def test_resume_reports_the_stored_usage_and_reasoning(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(ScriptedReply(text="first", reasoning="think", usage=(500, 20), cost=0.25))
    config = make_config(server.base_url, workspace)
    engine = make_engine(config, workspace, store)
    await run_prompt(engine, "hello")
    record = store.get_session(engine.state.id)
    resumed = make_engine(config, workspace, store, resume=record, interactive=True)
    await resumed.start()
    events: list[p.Event] = []
    async for ev in resumed.events():
        events.append(ev)
        if isinstance(ev, p.TokenUsage):
            break
    await resumed.submit(p.Shutdown())
    [answer] = [e for e in of_type(events, p.AssistantMessage) if e.replay]
    assert (answer.text, answer.reasoning) == ("first", "think")
    [usage] = of_type(events, p.TokenUsage)
    assert usage == p.TokenUsage(
        prompt_tokens=0,
        completion_tokens=0,
        session_prompt_tokens=500,
        session_completion_tokens=20,
        context_tokens=520,
        context_window=usage.context_window,
        session_cost=0.25,
        replay=True,
    )


async def test_the_same_message_again_after_a_failure_is_kept_once(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        *[ScriptedReply(status=503, text="down") for _ in range(5)],
        ScriptedReply(text="back"),
    )
    config = make_config(server.base_url, workspace)
    engine = make_engine(config, workspace, store, interactive=True)
    await engine.start()
    first = await drive(engine, "status?")
    assert of_type(first, p.TurnAborted)
    await drive(engine, "status?")
    await engine.submit(p.Shutdown())
    sent = [m for m in server.requests[-1].messages if m["role"] != "system"]
    assert sent == [{"role": "user", "content": "status?"}]
    stored = [m.message.content for m in store.load_messages(engine.state.id)]
    assert stored == ["status?", "back"]
