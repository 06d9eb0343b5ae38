"""Messages typed while a turn runs: queued by the engine, delivered before the next model
request, in order; Esc (Interrupt) sends them at once; an edit asks with a diff preview."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hermes import protocol as p
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import make_config, make_engine, of_type


async def collect_until(engine: object, events: list[p.Event], done: type, count: int = 1) -> None:
    async def run() -> None:
        seen = 0
        async for ev in engine.events():  # type: ignore[attr-defined]
            events.append(ev)
            if isinstance(ev, done):
                seen += 1
                if seen == count:
                    return

    await asyncio.wait_for(run(), 20)


async def test_message_typed_during_a_turn_reaches_the_next_request(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(text="first answer", stall_after_chunks=1, stall_seconds=2.0),
        ScriptedReply(text="second answer"),
    )
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True
    )
    await engine.start()
    await engine.submit(p.UserTurn("one"))
    assert await asyncio.to_thread(server.wait_for_stall)
    await engine.submit(p.UserTurn("two"))
    events: list[p.Event] = []
    await collect_until(engine, events, p.TurnComplete)
    assert [m.text for m in of_type(events, p.AssistantMessage)] == [
        "first answer",
        "second answer",
    ]
    assert of_type(events, p.UserMessage) == [p.UserMessage("two")]
    second = server.requests[1].messages
    assert [(m["role"], m["content"]) for m in second[1:]] == [
        ("user", "one"),
        ("assistant", "first answer"),
        ("user", "two"),
    ]
    assert server.rejections == []
    await engine.submit(p.Shutdown())


async def test_interrupt_sends_the_queued_message_at_once(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(text="a long answer that stalls", stall_after_chunks=1, stall_seconds=5),
        ScriptedReply(text="ok, doing two"),
    )
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True
    )
    await engine.start()
    await engine.submit(p.UserTurn("one"))
    assert await asyncio.to_thread(server.wait_for_stall)
    await engine.submit(p.UserTurn("two"))
    await engine.submit(p.Interrupt())
    events: list[p.Event] = []
    await collect_until(engine, events, p.TurnComplete)
    assert of_type(events, p.TurnAborted) == [p.TurnAborted("interrupted by user")]
    assert [e.text for e in of_type(events, p.TurnStarted)] == ["one", "two"]
    last = server.requests[-1].messages
    assert [m["role"] for m in last[1:]] == ["user", "assistant", "user"]
    assert last[-1]["content"] == "two"
    assert server.rejections == []
    await engine.submit(p.Shutdown())


async def test_leftover_queued_message_goes_before_the_next_one(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(status=401, text="bad key", delay_seconds=0.5),
        ScriptedReply(text="fine"),
    )
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True
    )
    await engine.start()
    await engine.submit(p.UserTurn("one"))
    assert await asyncio.to_thread(server.wait_for_requests, 1)
    await engine.submit(p.UserTurn("two"))  # queued; the turn then fails
    events: list[p.Event] = []
    await collect_until(engine, events, p.TurnAborted)
    await engine.submit(p.UserTurn("three"))
    await collect_until(engine, events, p.TurnComplete)
    contents = [m["content"] for m in server.requests[-1].messages if m["role"] == "user"]
    assert contents == ["one", "two", "three"]
    await engine.submit(p.Shutdown())


async def test_patch_asks_with_a_diff_preview(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("alpha\nbeta\n")
    args = {"path": "a.txt", "old_string": "beta", "new_string": "gamma"}
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall("patch", json.dumps(args), "p1"),)),
        ScriptedReply(text="done"),
    )
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True
    )
    await engine.start()
    await engine.submit(p.UserTurn("edit"))
    events: list[p.Event] = []
    await collect_until(engine, events, p.ApprovalRequested)
    preview = events[-1].preview  # type: ignore[union-attr]
    assert "--- a/a.txt" in preview and "-beta" in preview and "+gamma" in preview
    assert (workspace / "a.txt").read_text() == "alpha\nbeta\n"
    await engine.submit(p.ApprovalReply("p1", "once"))
    await collect_until(engine, events, p.TurnComplete)
    assert (workspace / "a.txt").read_text() == "alpha\ngamma\n"
    await engine.submit(p.Shutdown())
