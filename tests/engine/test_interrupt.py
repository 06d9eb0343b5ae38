"""Interrupt through the engine: the stream, a running command, queued calls."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from hermes import protocol as p
from hermes.engine.view import rebuild_view
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import make_config, make_engine, of_type


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def run_until(engine: object, prompt: str, trigger: type, then: p.Op) -> list[p.Event]:
    from hermes.engine.engine import Engine

    assert isinstance(engine, Engine)
    await engine.start()
    await engine.submit(p.UserTurn(prompt))
    events: list[p.Event] = []

    async def collect() -> None:
        async for ev in engine.events():
            events.append(ev)
            if isinstance(ev, trigger):
                await engine.submit(then)
            if isinstance(ev, p.TurnComplete | p.TurnAborted):
                return

    await asyncio.wait_for(collect(), 30)
    await engine.submit(p.Shutdown())
    return events


async def test_interrupt_kills_the_command_group_and_keeps_history_valid(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    command = "sleep 60 & echo $! > child.pid; echo started; wait"
    server.add(
        ScriptedReply(
            tool_calls=(
                ScriptedCall("terminal", json.dumps({"command": command}), "t1"),
                ScriptedCall("write_file", json.dumps({"path": "later.txt", "content": "x"}), "w1"),
            )
        ),
        ScriptedReply(text="after"),
    )
    # $! is a host PID only outside the sandbox's PID namespace (tests/sandbox kill there).
    cfg = make_config(server.base_url, workspace, approval_mode="yolo", no_sandbox=True)
    engine = make_engine(cfg, workspace, store)
    events = await run_until(engine, "run it", p.ToolOutputDelta, p.Interrupt())
    assert of_type(events, p.TurnAborted) == [p.TurnAborted("interrupted by user")]
    ends = [(e.call_id, e.status) for e in of_type(events, p.ToolCallEnd)]
    assert ends == [("t1", "interrupted"), ("w1", "cancelled")]
    assert "started" in of_type(events, p.ToolCallEnd)[0].output
    child = int((workspace / "child.pid").read_text())
    for _ in range(100):
        if not alive(child):
            break
        await asyncio.sleep(0.05)
    assert not alive(child)
    assert not (workspace / "later.txt").exists()
    view = rebuild_view(store.load_messages(engine.state.id))
    assert view.unanswered == ()
    assert [m.role for m in view.messages] == ["user", "assistant", "tool", "tool"]


async def test_interrupt_during_the_stream_keeps_the_partial_answer(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(
            text="Here is the first part of a long answer",
            chunk_size=5,
            stall_after_chunks=3,
            stall_seconds=30,
        ),
        ScriptedReply(text="next"),
    )
    engine = make_engine(make_config(server.base_url, workspace), workspace, store)

    await engine.start()
    await engine.submit(p.UserTurn("talk"))
    assert await asyncio.to_thread(server.wait_for_stall, 10)
    events: list[p.Event] = []
    async for ev in engine.events():
        events.append(ev)
        if isinstance(ev, p.AssistantDelta) and len(of_type(events, p.AssistantDelta)) == 2:
            await engine.submit(p.Interrupt())
        if isinstance(ev, p.TurnAborted):
            break
    partial = of_type(events, p.AssistantMessage)
    assert len(partial) == 1 and partial[0].interrupted
    assert partial[0].text == "".join(e.text for e in of_type(events, p.AssistantDelta))
    assert partial[0].text == "Here is th"  # the two 5-character chunks sent before the stall
    stored = store.load_messages(engine.state.id)
    assert [(m.message.role, m.interrupted) for m in stored] == [
        ("user", False),
        ("assistant", True),
    ]
    assert stored[1].message.content == partial[0].text
    # The next turn sends the kept partial answer; the server accepts the history.
    await engine.submit(p.UserTurn("go on"))
    async for ev in engine.events():
        if isinstance(ev, p.TurnComplete):
            break
    await engine.submit(p.Shutdown())
    assert [m["role"] for m in server.requests[-1].messages] == [
        "system",
        "user",
        "assistant",
        "user",
    ]
    assert server.rejections == []
