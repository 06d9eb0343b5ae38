"""``hermes sessions show`` nests a subagent's session under its task call; ``list``
leaves it out; ``delete`` takes it along. Real processes, a real database."""

from __future__ import annotations

import json
from pathlib import Path

from hermes.messages import Message, ToolCall
from hermes.store.children import create_child
from hermes.store.sessions import Store
from tests.support import run_hermes as hermes


def family(home: Path, workspace: Path) -> tuple[str, str]:
    store = Store(home / "hermes.db")
    parent = store.create_session(str(workspace), "m1", "ask", title="find the bug")
    store.append_message(parent.id, Message("user", "find the bug"))
    task = ToolCall("t1", "task", '{"description": "search", "prompt": "Where is it?"}')
    store.append_message(parent.id, Message("assistant", None, (task,)))
    child = create_child(
        store, parent.id, "t1", "search", workspace=str(workspace), model="m1", approval_mode="ask"
    )
    store.append_message(child.id, Message("user", "Where is it?"))
    read = ToolCall("r1", "read_file", '{"path": "a.py"}')
    store.append_message(child.id, Message("assistant", None, (read,)))
    store.append_message(child.id, Message("tool", "1 def f(): ...", tool_call_id="r1"))
    store.append_message(child.id, Message("assistant", "In a.py, f."))
    store.append_message(parent.id, Message("tool", "In a.py, f.", tool_call_id="t1"))
    store.append_message(parent.id, Message("assistant", "It is f in a.py."))
    store.close()
    return parent.id, child.id


def test_show_nests_the_subagent_under_its_task_call(hermes_home: Path, workspace: Path) -> None:
    parent, child = family(hermes_home, workspace)
    run = hermes("sessions", "show", parent, cwd=workspace, home=hermes_home)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    at = lines.index('    -> task({"description": "search", "prompt": "Where is it?"})')
    assert lines[at + 1 : at + 7] == [
        f"       subagent 'search'  session {child}  4 messages, 0 prompt + 0 completion tokens",
        "         user: Where is it?",
        "         assistant: ",
        '           -> read_file({"path": "a.py"})',
        "         tool[r1]: 1 def f(): ...",
        "         assistant: In a.py, f.",
    ]
    assert lines[at + 7] == "  tool[t1]: In a.py, f."

    as_json = json.loads(
        hermes("sessions", "show", parent, "--json", cwd=workspace, home=hermes_home).stdout
    )
    (sub,) = as_json["subagents"]
    assert (sub["session_id"], sub["parent_call_id"], sub["agent"]) == (child, "t1", "search")
    assert [m["role"] for m in sub["messages"]] == ["user", "assistant", "tool", "assistant"]


def test_list_leaves_subagents_out_and_delete_takes_them_along(
    hermes_home: Path, workspace: Path
) -> None:
    parent, _child = family(hermes_home, workspace)
    listed = json.loads(
        hermes("sessions", "list", "--json", cwd=workspace, home=hermes_home).stdout
    )
    assert [s["id"] for s in listed] == [parent]
    gone = hermes("sessions", "delete", parent, "--yes", cwd=workspace, home=hermes_home)
    assert gone.returncode == 0, gone.stderr
    store = Store(hermes_home / "hermes.db")
    try:
        assert store.read("SELECT id FROM sessions", ()) == []
        assert store.read("SELECT COUNT(*) FROM messages", ()) == [(0,)]
    finally:
        store.close()
