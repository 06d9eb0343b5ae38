"""The to-do list through the real engine: todo_write/todo_read calls from the scripted
model, the TodoUpdated events, the stored list, and the list shown again on resume."""

from __future__ import annotations

import json
from pathlib import Path

from hermes import protocol as p
from hermes.store.sessions import Store
from hermes.store.todos import load_todos
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import make_config, make_engine, of_type, run_prompt

PLAN = [
    {"content": "read the code", "status": "completed"},
    {"content": "write the test", "status": "in_progress"},
    {"content": "run the suite", "status": "pending"},
]
ITEMS = (
    p.TodoItem("read the code", "completed"),
    p.TodoItem("write the test", "in_progress"),
    p.TodoItem("run the suite", "pending"),
)


def write(cid: str, items: list[dict[str, str]]) -> ScriptedCall:
    return ScriptedCall("todo_write", json.dumps({"items": items}), cid)


async def test_the_model_writes_and_reads_its_list(
    server: ScriptedServer, workspace: Path, store: Store
) -> None:
    server.add(
        ScriptedReply(tool_calls=(write("w1", PLAN),)),
        ScriptedReply(tool_calls=(ScriptedCall("todo_read", "{}", "r1"),)),
        ScriptedReply(text="On it."),
    )
    engine = make_engine(make_config(server.base_url, workspace), workspace, store)
    events = await run_prompt(engine, "fix the bug")
    assert of_type(events, p.TodoUpdated) == [p.TodoUpdated(ITEMS)]
    ends = {e.call_id: e for e in of_type(events, p.ToolCallEnd)}
    assert ends["w1"].status == "done" and ends["w1"].output.startswith(
        "The to-do list is updated (3 item(s): 1 completed, 2 open)."
    )
    assert ends["r1"].output == "[x] read the code\n[>] write the test\n[ ] run the suite"
    # the update is shown before the call's result
    kinds = [type(e).__name__ for e in events if isinstance(e, p.TodoUpdated | p.ToolCallEnd)]
    assert kinds == ["TodoUpdated", "ToolCallEnd", "ToolCallEnd"]
    assert load_todos(store, engine.state.id) == ITEMS


async def test_a_bad_list_is_refused_and_nothing_changes(
    server: ScriptedServer, workspace: Path, store: Store
) -> None:
    two = [{"content": "a", "status": "in_progress"}, {"content": "b", "status": "in_progress"}]
    none = [{"content": "a", "status": "pending"}]
    server.add(
        ScriptedReply(tool_calls=(write("w1", two),)),
        ScriptedReply(tool_calls=(write("w2", none),)),
        ScriptedReply(text="Sorry."),
    )
    engine = make_engine(make_config(server.base_url, workspace), workspace, store)
    events = await run_prompt(engine, "plan")
    ends = of_type(events, p.ToolCallEnd)
    assert [(e.status, e.output) for e in ends] == [
        ("failed", "2 items are in_progress; exactly one may be in progress at a time"),
        (
            "failed",
            "no item is in_progress: mark the one you are working on now as in_progress "
            "(exactly one while any item is unfinished)",
        ),
    ]
    assert of_type(events, p.TodoUpdated) == []
    assert load_todos(store, engine.state.id) == ()


async def test_a_resumed_session_shows_the_list_as_it_was(
    server: ScriptedServer, workspace: Path, store: Store
) -> None:
    server.add(ScriptedReply(tool_calls=(write("w1", PLAN),)), ScriptedReply(text="Started."))
    config = make_config(server.base_url, workspace)
    first = make_engine(config, workspace, store)
    await run_prompt(first, "fix the bug")
    record = store.get_session(first.state.id)

    server.add(ScriptedReply(tool_calls=(ScriptedCall("todo_read", "{}", "r2"),)))
    server.add(ScriptedReply(text="Still on the test."))
    again = make_engine(config, workspace, store, resume=record)
    events = await run_prompt(again, "where are we?")
    assert of_type(events, p.TodoUpdated) == [p.TodoUpdated(ITEMS, replay=True)]
    read = [e for e in of_type(events, p.ToolCallEnd) if e.call_id == "r2"]
    assert read[0].output == "[x] read the code\n[>] write the test\n[ ] run the suite"
    assert server.rejections == []


def test_todo_events_round_trip_as_json() -> None:
    event = p.TodoUpdated(ITEMS)
    assert p.from_json(p.to_json(event)) == event
    assert json.loads(p.to_json(event))["items"][1] == {
        "content": "write the test",
        "status": "in_progress",
    }
