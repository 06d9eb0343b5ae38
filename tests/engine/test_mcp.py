"""MCP tools through the engine: a scripted model calls real MCP servers (stdio processes
written with the SDK); approvals, lanes, late servers and shutdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hermes import protocol as p
from hermes.engine.calls import prepare_calls
from hermes.execution.executor import dependencies
from hermes.messages import ToolCall
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.mcp_servers import alive, stdio_server, until
from tests.support import drive, make_config, make_engine, of_type, run_prompt


def call(name: str, cid: str, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


def tool_names(request_body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in request_body.get("tools", [])]


async def test_the_model_calls_an_mcp_tool_and_gets_the_result(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("mcp__srv__read_thing", "r1", key="color"),)),
        ScriptedReply(text="The color is unset."),
    )
    raw = {"mcp": {"servers": {"srv": stdio_server(trust_annotations=True)}}}
    engine = make_engine(make_config(server.base_url, workspace, raw), workspace, store)
    events = await run_prompt(engine, "what color?", wait_s=60)
    # A one-shot run waits for its servers, so the very first request offers their tools.
    names = tool_names(server.requests[0].body)
    assert "mcp__srv__read_thing" in names and "read_file" in names
    offered = next(
        t
        for t in server.requests[0].body["tools"]
        if t["function"]["name"] == "mcp__srv__read_thing"
    )
    assert (
        offered["function"]["description"]
        == "Read the value stored under a key. Never changes anything."
    )
    (begin,) = of_type(events, p.ToolCallBegin)
    assert begin.tool_class == "read"
    (end,) = of_type(events, p.ToolCallEnd)
    assert (end.status, end.output) == ("done", "color = unset")
    assert of_type(events, p.ApprovalRequested) == []
    stored = [m.message for m in store.load_messages(engine.state.id)]
    assert stored[2].role == "tool" and stored[2].content == "color = unset"
    assert server.requests[1].messages[-1]["content"] == "color = unset"
    assert engine.mcp.status("srv").state == "stopped"  # Shutdown stopped it


async def test_lanes_by_annotation_and_trust_and_approvals_by_tool_name(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("mcp__srv__write_thing", "w1", key="a", value="1"),)),
        ScriptedReply(tool_calls=(call("mcp__srv__write_thing", "w2", key="b", value="2"),)),
        ScriptedReply(
            tool_calls=(
                call("mcp__srv__read_thing", "r1", key="a"),
                call("mcp__plain__read_thing", "p1", key="b"),
            )
        ),
        ScriptedReply(text="done"),
    )
    servers = {
        "srv": stdio_server(trust_annotations=True, cwd=str(workspace)),
        "plain": stdio_server(cwd=str(workspace)),
    }
    cfg = make_config(server.base_url, workspace, {"mcp": {"servers": servers}})
    engine = make_engine(cfg, workspace, store, interactive=True)
    await engine.start()
    await engine.mcp.wait_settled()
    # Lanes: trusted reads run together; an untrusted tool and a write wait their turn.
    calls = [
        ToolCall("a", "mcp__srv__read_thing", '{"key": "a"}'),
        ToolCall("b", "mcp__srv__read_thing", '{"key": "b"}'),
        ToolCall("c", "mcp__plain__read_thing", '{"key": "c"}'),
        ToolCall("d", "mcp__srv__write_thing", '{"key": "d", "value": "x"}'),
    ]
    prepared, _ = prepare_calls(engine.state, calls)
    assert [pc.tool_class for pc in prepared] == ["read", "read", "exec", "exec"]
    assert dependencies(prepared) == [set(), set(), {0, 1}, {0, 1, 2}]
    answers: dict[str, p.ApprovalDecision] = {"w1": "always", "p1": "once"}
    events = await drive(engine, "go", lambda ev: answers[ev.call_id])
    await engine.submit(p.Shutdown())
    asked = of_type(events, p.ApprovalRequested)
    # w2 is covered by the "always" for w1; the trusted read never asks; the same tool of a
    # server whose hints are not trusted is a command and asks.
    assert [a.call_id for a in asked] == ["w1", "p1"]
    assert asked[0].always_rules == ("mcp__srv__write_thing",)
    classes = {b.call_id: b.tool_class for b in of_type(events, p.ToolCallBegin)}
    assert classes == {"w1": "exec", "w2": "exec", "r1": "read", "p1": "exec"}
    outputs = {e.call_id: e.output for e in of_type(events, p.ToolCallEnd)}
    assert outputs == {"w1": "stored a", "w2": "stored b", "r1": "a = 1", "p1": "b = 2"}
    assert (workspace / "thing-b.txt").read_text() == "2"


async def test_headless_runs_allowed_mcp_tools_and_denies_the_rest(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(
            tool_calls=(
                call("mcp__srv__write_thing", "w1", key="a", value="1"),
                call("mcp__srv__pids", "x1"),
                call("mcp__srv__fail", "f1", reason="no such row"),
            )
        ),
        ScriptedReply(text="ok"),
    )
    raw = {
        "mcp": {"servers": {"srv": stdio_server(cwd=str(workspace))}},
        "approvals": {"allow": ["mcp__srv__write_thing", "mcp__srv__fail"]},
    }
    engine = make_engine(make_config(server.base_url, workspace, raw), workspace, store)
    events = await run_prompt(engine, "go", wait_s=60)
    ends = {e.call_id: e for e in of_type(events, p.ToolCallEnd)}
    assert (ends["w1"].status, ends["w1"].output) == ("done", "stored a")
    assert ends["x1"].status == "denied"
    assert "approvals.allow rule such as 'mcp__srv__pids'" in ends["x1"].output
    assert (ends["f1"].status, ends["f1"].output) == (
        "failed",
        "Error executing tool fail: no such row",
    )


async def test_a_server_that_connects_late_adds_its_tools_from_the_next_request(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    gate = workspace / "go"
    server.add(ScriptedReply(text="one"), ScriptedReply(text="two"))
    raw = {"mcp": {"servers": {"late": stdio_server("--wait-for", str(gate))}}}
    engine = make_engine(
        make_config(server.base_url, workspace, raw), workspace, store, interactive=True
    )
    await engine.start()
    # The session is ready for input while the server is still starting.
    assert engine.mcp.status("late").state == "starting"
    await drive(engine, "first", lambda ev: "deny")
    assert not any(n.startswith("mcp__") for n in tool_names(server.requests[0].body))
    gate.write_text("")
    await engine.mcp.wait_settled()
    assert engine.mcp.status("late").state == "ready"
    await drive(engine, "second", lambda ev: "deny")
    assert "mcp__late__read_thing" in tool_names(server.requests[1].body)
    pid = engine.mcp.status("late").pid
    await engine.submit(p.Shutdown())
    assert pid is not None
    await until(lambda: not alive(pid))  # SIGKILL went to its group
