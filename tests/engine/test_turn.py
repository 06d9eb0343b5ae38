"""The turn loop end to end, in process, against the scripted server and real tools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hermes import protocol as p
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import kinds, make_config, make_engine, of_type, run_prompt


def call(name: str, cid: str | None = None, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


def roles(store: Store, session_id: str) -> list[str]:
    return [m.message.role for m in store.load_messages(session_id)]


async def test_two_reads_a_write_a_command_and_an_answer(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("alpha\n")
    (workspace / "b.txt").write_text("beta\n")
    server.add(
        ScriptedReply(
            tool_calls=(
                call("read_file", "r1", path="a.txt"),
                call("read_file", "r2", path="b.txt"),
            )
        ),
        ScriptedReply(
            tool_calls=(call("write_file", "w1", path="out.txt", content="alpha beta\n"),)
        ),
        ScriptedReply(tool_calls=(call("terminal", "t1", command="cat out.txt"),)),
        ScriptedReply(text="Wrote out.txt."),
    )
    cfg = make_config(server.base_url, workspace, approval_mode="yolo")
    engine = make_engine(cfg, workspace, store)
    events = await run_prompt(engine, "combine the files")
    assert kinds(events) == [
        "SessionStarted",
        "TurnStarted",
        "AssistantMessage",
        "ToolCallBegin",
        "ToolCallBegin",
        "ToolCallEnd",
        "ToolCallEnd",
        "ExecutorStats",
        "AssistantMessage",
        "ToolCallBegin",
        "ToolCallEnd",
        "ExecutorStats",
        "AssistantMessage",
        "ToolCallBegin",
        "ToolCallEnd",
        "ExecutorStats",
        "AssistantMessage",
        "TurnComplete",
    ]
    assert (workspace / "out.txt").read_text() == "alpha beta\n"
    ends = {e.call_id: e for e in of_type(events, p.ToolCallEnd)}
    assert ends["r1"].status == "done" and "alpha" in ends["r1"].output
    assert ends["t1"].exit_code == 0 and "alpha beta" in ends["t1"].output
    assert of_type(events, p.TurnComplete) == [p.TurnComplete("Wrote out.txt.", 4)]
    sid = engine.state.id
    assert roles(store, sid) == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert len(store.model_calls(sid)) == 4
    # The last request holds the whole history, results in call order, and was accepted.
    last = server.requests[-1].messages
    assert [m["role"] for m in last] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]
    assert [last[3]["tool_call_id"], last[4]["tool_call_id"]] == ["r1", "r2"]
    assert server.rejections == []


async def test_retries_429_and_500_then_succeeds(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(status=429, retry_after=0.01),
        ScriptedReply(status=500),
        ScriptedReply(text="fine"),
    )
    engine = make_engine(make_config(server.base_url, workspace), workspace, store)
    events = await run_prompt(engine, "hi")
    warnings = of_type(events, p.Warning)
    assert [w.kind for w in warnings] == ["retry", "retry"]
    assert "429" in warnings[0].message and "500" in warnings[1].message
    assert of_type(events, p.TurnComplete) == [p.TurnComplete("fine", 1)]
    assert store.model_calls(engine.state.id)[0].retries == 2


async def test_cut_stream_is_retried_and_nothing_partial_enters_history(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(text="this reply will be cut off somewhere", cut_after_chunks=3),
        ScriptedReply(text="whole answer"),
    )
    engine = make_engine(make_config(server.base_url, workspace), workspace, store)
    events = await run_prompt(engine, "hi")
    assert of_type(events, p.AssistantMessage) == [p.AssistantMessage("whole answer")]
    assert [m.message.content for m in store.load_messages(engine.state.id)] == [
        "hi",
        "whole answer",
    ]
    assert len(server.requests) == 2
    assert server.requests[0].messages == server.requests[1].messages


async def test_idle_stream_is_retried(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(text="stalls here", stall_after_chunks=1, stall_seconds=5),
        ScriptedReply(text="ok"),
    )
    cfg = make_config(server.base_url, workspace, {"model": {"stream_idle_timeout": 0.3}})
    events = await run_prompt(make_engine(cfg, workspace, store), "hi")
    assert [w.kind for w in of_type(events, p.Warning)] == ["retry"]
    assert of_type(events, p.TurnComplete)[0].text == "ok"


async def test_retries_exhausted_is_an_error(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(*[ScriptedReply(status=503) for _ in range(5)])
    events = await run_prompt(
        make_engine(make_config(server.base_url, workspace), workspace, store), "hi"
    )
    assert "after 5 attempts" in of_type(events, p.Error)[0].message
    assert of_type(events, p.TurnAborted) == [p.TurnAborted("model error")]


async def test_auth_error_is_not_retried(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(ScriptedReply(status=401, text="bad key"))
    events = await run_prompt(
        make_engine(make_config(server.base_url, workspace), workspace, store), "hi"
    )
    errors = of_type(events, p.Error)
    assert len(errors) == 1 and errors[0].fatal
    assert "refused the API key" in errors[0].message and "HERMES_API_KEY" in errors[0].message
    assert len(server.requests) == 1


async def test_bad_json_and_unknown_tool_become_error_results(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(
            tool_calls=(
                ScriptedCall("read_file", '{"path": "a.txt"', "c1"),
                ScriptedCall("delete_everything", "{}", "c2"),
                ScriptedCall("read_file", "null", "c3"),
            )
        ),
        ScriptedReply(text="sorry"),
    )
    events = await run_prompt(
        make_engine(make_config(server.base_url, workspace), workspace, store), "hi"
    )
    ends = of_type(events, p.ToolCallEnd)
    assert [(e.call_id, e.status) for e in ends] == [
        ("c1", "failed"),
        ("c2", "failed"),
        ("c3", "failed"),
    ]
    assert "not valid JSON" in ends[0].output
    assert "unknown tool 'delete_everything'" in ends[1].output and "read_file" in ends[1].output
    assert "must be a JSON object, not null" in ends[2].output
    tool_msgs = [m for m in server.requests[1].messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == ["c1", "c2", "c3"]


async def test_repairs_are_bounded(server: ScriptedServer, store: Store, workspace: Path) -> None:
    server.add(*[ScriptedReply(tool_calls=(ScriptedCall("nope", "{}"),)) for _ in range(10)])
    cfg = make_config(server.base_url, workspace, {"session": {"max_repairs": 2}})
    events = await run_prompt(make_engine(cfg, workspace, store), "hi")
    assert "invalid tool calls 3 times" in of_type(events, p.Error)[0].message
    assert len(server.requests) == 3


async def test_max_turns(server: ScriptedServer, store: Store, workspace: Path) -> None:
    (workspace / "a").write_text("x")
    server.add(*[ScriptedReply(tool_calls=(call("read_file", path="a"),)) for _ in range(5)])
    cfg = make_config(server.base_url, workspace, max_turns=2)
    events = await run_prompt(make_engine(cfg, workspace, store), "hi")
    assert of_type(events, p.TurnAborted) == [p.TurnAborted("max_turns")]
    assert "session.max_turns = 2" in of_type(events, p.Error)[0].message
    assert len(server.requests) == 2


async def test_headless_ask_mode_denies_writes_and_tells_the_model(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("write_file", "w", path="x.txt", content="hi"),)),
        ScriptedReply(text="could not write"),
    )
    events = await run_prompt(
        make_engine(make_config(server.base_url, workspace), workspace, store), "write"
    )
    assert not (workspace / "x.txt").exists()
    end = of_type(events, p.ToolCallEnd)[0]
    assert end.status == "denied"
    assert "needs approval" in end.output and "--approval-mode" in end.output
    resolved = of_type(events, p.ApprovalResolved)
    assert [(r.call_id, r.decision, r.by) for r in resolved] == [("w", "deny", "policy")]
    assert server.requests[1].messages[-1]["content"] == end.output


async def test_length_cut_reply_never_runs_its_calls(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(
            text="partial",
            tool_calls=(call("write_file", path="x", content="y"),),
            finish_reason="length",
        ),
    )
    cfg = make_config(server.base_url, workspace, approval_mode="yolo")
    events = await run_prompt(make_engine(cfg, workspace, store), "go")
    assert not (workspace / "x").exists()
    assert of_type(events, p.ToolCallBegin) == []
    assert "cut off" in of_type(events, p.Warning)[0].message
    assert of_type(events, p.TurnComplete)[0].text == "partial"


@pytest.mark.parametrize("style", ["standard", "no-index", "repeat", "whole"])
async def test_every_delta_style_assembles(
    style: str, server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a").write_text("A")
    (workspace / "b").write_text("B")
    server.add(
        ScriptedReply(
            text="reading",
            tool_calls=(call("read_file", "x1", path="a"), call("read_file", "x2", path="b")),
            delta_style=style,
            chunk_size=3,
        ),
        ScriptedReply(text="done", usage=None),
    )
    events = await run_prompt(
        make_engine(make_config(server.base_url, workspace), workspace, store), "go"
    )
    msg = of_type(events, p.AssistantMessage)[0]
    assert msg.tool_calls == (
        p.ToolCallView("x1", "read_file", '{"path": "a"}'),
        p.ToolCallView("x2", "read_file", '{"path": "b"}'),
    )
    assert msg.text == "reading"
    assert server.rejections == []


async def test_empty_and_duplicate_ids_still_pair(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a").write_text("A")
    server.add(
        ScriptedReply(
            tool_calls=(
                call("read_file", "", path="a"),
                call("read_file", "same", path="a"),
                call("read_file", "same", path="a"),
            )
        ),
        ScriptedReply(text="ok"),
    )
    events = await run_prompt(
        make_engine(make_config(server.base_url, workspace), workspace, store), "go"
    )
    ids = [c.call_id for c in of_type(events, p.AssistantMessage)[0].tool_calls]
    assert len(set(ids)) == 3 and all(ids)
    assert server.rejections == []
    assert of_type(events, p.TurnComplete)[0].text == "ok"


async def test_max_tokens_sent_only_when_configured(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(ScriptedReply(text="a"), ScriptedReply(text="b"))
    await run_prompt(make_engine(make_config(server.base_url, workspace), workspace, store), "x")
    cfg = make_config(
        server.base_url, workspace, {"model": {"max_output_tokens": 77, "context_window": 4096}}
    )
    await run_prompt(make_engine(cfg, workspace, store), "y")
    assert "max_tokens" not in server.requests[0].body
    assert server.requests[1].body["max_tokens"] == 77


async def test_tool_calls_written_as_text_become_real_calls(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("alpha\n")
    text = 'Let me read it.\n<tool_call>{"name": "read_file", "arguments": {"path": "a.txt"}}</tool_call>'
    server.add(ScriptedReply(text=text, chunk_size=4), ScriptedReply(text="It says alpha."))
    cfg = make_config(server.base_url, workspace, {"model": {"text_tool_calls": True}})
    events = await run_prompt(make_engine(cfg, workspace, store), "read a.txt")
    shown = "".join(e.text for e in of_type(events, p.AssistantDelta))
    assert shown.startswith("Let me read it.") and "<tool_call>" not in shown
    first = of_type(events, p.AssistantMessage)[0]
    assert first.text == "Let me read it."
    assert [(c.name, json.loads(c.arguments)) for c in first.tool_calls] == [
        ("read_file", {"path": "a.txt"})
    ]
    assert "alpha" in of_type(events, p.ToolCallEnd)[0].output
    sent = server.requests[1].messages
    assert sent[2]["tool_calls"][0]["function"]["name"] == "read_file"
    assert sent[3]["role"] == "tool" and server.rejections == []


async def test_text_calls_off_when_configured_off(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    text = '<tool_call>{"name": "read_file", "arguments": {"path": "a.txt"}}</tool_call>'
    server.add(ScriptedReply(text=text))
    config = make_config(server.base_url, workspace, {"model": {"text_tool_calls": False}})
    events = await run_prompt(make_engine(config, workspace, store), "x")
    assert of_type(events, p.TurnComplete)[0].text == text
    assert of_type(events, p.ToolCallBegin) == []
