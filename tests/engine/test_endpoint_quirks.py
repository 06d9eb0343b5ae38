"""The turn loop against real servers' quirks (issue 20), on the scripted server taught
them: calls with invalid names (13), the llama-cpp-python preset (2, 5, 7), context
overflow (4), and what the endpoint profile remembers across sessions."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

from hermes import protocol as p
from hermes.config import Config
from hermes.engine import memory_hooks
from hermes.engine.engine import Engine
from hermes.execution.spec import ToolRegistry
from hermes.messages import Message, ToolCall
from hermes.model.base import EndpointProfile, rejected_calls_note
from hermes.model.endpoint import EndpointRecord, load_record, save_record
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import (
    LLAMA_CPP_PYTHON,
    ScriptedCall,
    ScriptedReply,
    ServerQuirks,
)
from hermes.tools import builtin_tools
from tests.support import drive, kinds, make_config, of_type, run_prompt


def call(name: str, cid: str | None = None, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


def engine_for(
    config: Config, workspace: Path, store: Store, *, reads_only: bool = True, **kw: Any
) -> Engine:
    """An engine offering only read_file (a small, known request) unless told otherwise."""
    registry = ToolRegistry([t for t in builtin_tools() if t.name == "read_file"])
    return Engine.create(
        config=config,
        store=store,
        workspace=workspace,
        interactive=False,
        system_prompt="You are a test.",
        registry=registry if reads_only else None,
        **kw,
    )


def sent_call_names(server: ScriptedServer) -> list[str]:
    """Every tool-call name in every message of every request the server received."""
    return [
        c["function"]["name"]
        for r in server.requests
        for m in r.messages
        for c in m.get("tool_calls") or ()
    ]


def warnings(events: list[p.Event]) -> list[str]:
    return [w.message for w in of_type(events, p.Warning) if w.kind != "retry"]


# --------------------------------------------------------------------------- finding 13


async def test_calls_with_invalid_names_alone_are_repaired_and_never_sent_back(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("alpha\n")
    server.add(
        ScriptedReply(text="Let me look.", tool_calls=(call("", "bad1", path="a.txt"),)),
        ScriptedReply(tool_calls=(call("read_file", "r1", path="a.txt"),)),
        ScriptedReply(text="It says alpha."),
        ScriptedReply(text="Still alpha."),
    )
    cfg = make_config(server.base_url, workspace)
    engine = engine_for(cfg, workspace, store)
    events = await run_prompt(engine, "what is in a.txt?")
    assert kinds(events, p.ExecutorStats) == [
        "SessionStarted",
        "TurnStarted",
        "AssistantMessage",
        "Warning",
        "AssistantMessage",
        "ToolCallBegin",
        "ToolCallEnd",
        "AssistantMessage",
        "TurnComplete",
    ]
    assert warnings(events) == [
        "the model made 1 tool call(s) with an empty or invalid name; they were not run "
        "and it is asked again"
    ]
    assert of_type(events, p.AssistantMessage)[0] == p.AssistantMessage("Let me look.", ())
    stored = store.load_messages(engine.state.id)
    note = rejected_calls_note((ToolCall("bad1", "", '{"path": "a.txt"}'),))
    assert [(s.message.role, s.message.content, s.synthetic) for s in stored[:3]] == [
        ("user", "what is in a.txt?", False),
        ("assistant", "Let me look.", False),
        ("user", note, True),
    ]
    assert [c.name for s in stored for c in s.message.tool_calls] == ["read_file"]
    # resume: the stored session is sent again, and still carries no such call
    rec = store.get_session(engine.state.id)
    resumed = engine_for(cfg, workspace, store, resume=rec)
    await run_prompt(resumed, "and now?")
    assert len(server.requests) == 4
    assert sent_call_names(server) == ["read_file"] * 2  # the requests after the call
    assert server.rejections == []


async def test_invalid_names_beside_valid_calls_run_the_valid_ones_and_say_so(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("alpha\n")
    server.add(
        ScriptedReply(
            tool_calls=(call("read_file", "r1", path="a.txt"), call("read file", "bad", x=1))
        ),
        ScriptedReply(text="alpha."),
    )
    engine = engine_for(make_config(server.base_url, workspace), workspace, store)
    events = await run_prompt(engine, "read a.txt")
    assert warnings(events) == ["the model made 1 tool call(s) with an empty or invalid name"]
    assert of_type(events, p.AssistantMessage)[0].tool_calls == (
        p.ToolCallView("r1", "read_file", '{"path": "a.txt"}'),
    )
    result = server.requests[1].messages[-1]
    note = rejected_calls_note((ToolCall("bad", "read file", '{"x": 1}'),))
    assert result["tool_call_id"] == "r1"
    assert result["content"].endswith(f"\n\n[hermes: {note}]") and "alpha" in result["content"]
    assert sent_call_names(server) == ["read_file"]
    assert of_type(events, p.TurnComplete) == [p.TurnComplete("alpha.", 2)]


async def test_invalid_names_again_and_again_give_up_after_max_repairs(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(*[ScriptedReply(tool_calls=(call("", path="x"),)) for _ in range(3)])
    cfg = make_config(server.base_url, workspace, {"session": {"max_repairs": 2}})
    events = await run_prompt(engine_for(cfg, workspace, store), "go")
    assert of_type(events, p.Error) == [
        p.Error("gave up: the model sent invalid tool calls 3 times in a row")
    ]
    assert of_type(events, p.TurnAborted) == [p.TurnAborted("invalid tool calls")]
    assert len(server.requests) == 3 and sent_call_names(server) == []


async def test_an_old_session_holding_an_empty_name_call_resumes_without_it(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    """Stored by an older hermes: the call and its result are left out of the view."""
    cfg = make_config(server.base_url, workspace)
    rec = store.create_session(str(workspace), "gpt-4o-mini", "ask")
    store.append_message(rec.id, Message("user", "hi"))
    store.append_message(
        rec.id, Message("assistant", None, (ToolCall("c0", "", "{}"), ToolCall("c1", "ok", "{}")))
    )
    store.append_message(rec.id, Message("tool", "error: unknown tool ''", (), "c0"))
    store.append_message(rec.id, Message("tool", "fine", (), "c1"))
    server.add(ScriptedReply(text="hello again"))
    await run_prompt(engine_for(cfg, workspace, store, resume=rec), "again")
    assert [(m["role"], m.get("tool_call_id")) for m in server.requests[0].messages] == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "c1"),
        ("user", None),
    ]
    assert sent_call_names(server) == ["ok"] and server.rejections == []


# --------------------------------------------------------------------------- findings 2, 5, 7


async def test_llama_cpp_python_round_trip_learns_the_profile_once(
    store: Store, workspace: Path
) -> None:
    """Text calls detected (7), usage estimated and marked (5), the window lookup never
    beside a stream this server would end (2); a second session starts knowing it all."""
    (workspace / "notes.txt").write_text("The code word is PELICAN-42.\n")

    def script(n: int) -> list[ScriptedReply]:
        return [
            # stalled mid-stream: a /models asked now would end this stream early
            ScriptedReply(
                tool_calls=(call("read_file", path="notes.txt"),),
                usage=None,
                stall_after_chunks=1,
                stall_seconds=0.3,
            ),
            ScriptedReply(text=f"PELICAN-42 ({n})", usage=None),
        ]

    with ScriptedServer(script(1), quirks=LLAMA_CPP_PYTHON, context_window=None) as server:
        cfg = make_config(server.base_url, workspace, {"model": {"max_retries": 0}})
        first = engine_for(cfg, workspace, store)
        events = await run_prompt(first, "what is the code word?")
        assert of_type(events, p.TurnComplete) == [p.TurnComplete("PELICAN-42 (1)", 2)]
        assert warnings(events) == [
            f"the context window of gpt-4o-mini at {server.base_url} is unknown (its "
            "/models, /props and /api/show give none); assuming 8,192 tokens (a server on "
            "this machine). Set model.context_window in config to be exact (said once for "
            "this endpoint).",
            "the model writes tool calls as text; reading them from text from now on (set "
            "model.text_tool_calls to decide)",
        ]
        usage = of_type(events, p.TokenUsage)
        assert [u.estimated for u in usage] == [True, True] and usage[-1].prompt_tokens > 0
        calls = store.model_calls(first.state.id)
        assert [(c.usage_estimated, c.retries, c.error) for c in calls] == [(True, 0, "")] * 2
        assert memory_hooks.tracker(first.state).anchor is None  # never on an estimate
        assert load_record(server.base_url, "gpt-4o-mini") == dataclasses.replace(
            EndpointRecord(server.base_url, "gpt-4o-mini"),
            window_checked=True,
            window_warned=True,
            client=EndpointProfile(stream_options=None, usage_reported=False, calls_as_text=True),
            updated_at=load_record(server.base_url, "gpt-4o-mini").updated_at,
        )
        server.add(*script(2))
        second = engine_for(cfg, workspace, store)
        again = await run_prompt(second, "and again?")
        assert of_type(again, p.TurnComplete) == [p.TurnComplete("PELICAN-42 (2)", 2)]
        assert warnings(again) == []  # nothing new to say: the profile was cached
        # asked once, before the first chat request: never beside a stream
        assert [(m, path) for m, path, _ in server.http_log] == [
            ("GET", "/v1/models"),
            ("GET", "/props"),
            ("POST", "/api/show"),
        ] + [("POST", "/v1/chat/completions")] * 4
        assert server.rejections == []  # the call went back with content "" (finding 1)
        sent = [m for m in server.requests[1].messages if m["role"] == "assistant"]
        assert [(m["content"], [c["function"]["name"] for c in m["tool_calls"]]) for m in sent] == [
            ("", ["read_file"])
        ]


# --------------------------------------------------------------------------- finding 4


async def test_an_overflow_error_is_answered_by_digesting_once_and_the_window_is_learned(
    store: Store, workspace: Path
) -> None:
    (workspace / "big.txt").write_text("".join(f"line {i}: some text here\n" for i in range(900)))
    with ScriptedServer(
        [
            ScriptedReply(tool_calls=(call("read_file", "r1", path="big.txt"),)),
            ScriptedReply(text="read it"),
        ],
        context_window=4096,
        quirks=ServerQuirks(overflow="error"),
    ) as server:
        cfg = make_config(server.base_url, workspace, {"model": {"context_window": 32_768}})
        engine = engine_for(cfg, workspace, store)
        events = await run_prompt(engine, "read big.txt")
        assert of_type(events, p.TurnComplete) == [p.TurnComplete("read it", 2)]
        said = warnings(events)
        assert (
            said[0] == "the server says the context window is 4,096 tokens; using that from now on"
        )
        assert said[1].startswith("the request would not fit the window (") and said[1].endswith(
            "folded 1 old tool outputs to one-line digests (" + said[1].rsplit("(", 1)[1]
        )
        assert len(said) == 2
        assert len(server.requests) == 3  # the call, the overflow, the folded retry
        retry = server.requests[2].messages[-1]["content"]
        assert retry.startswith('[tool output folded: read_file {"path": "big.txt"}')
        errors = [c.error for c in store.model_calls(engine.state.id)]
        assert errors[0] == "" and "context window" in errors[1] and errors[2] == ""
        learned = load_record(server.base_url, "gpt-4o-mini")
        assert (learned.context_window, learned.window_source) == (4096, "error")
        assert engine.state.context_window == 4096


async def test_an_empty_stream_over_the_budget_folds_once_then_succeeds(
    store: Store, workspace: Path
) -> None:
    """llama-cpp-python answers a prompt over its window with an empty 200 stream."""
    (workspace / "mid.txt").write_text("".join(f"row {i} of the file\n" for i in range(80)))
    quirks = dataclasses.replace(LLAMA_CPP_PYTHON, calls_as_text=None)
    with ScriptedServer(
        [
            ScriptedReply(tool_calls=(call("read_file", "r1", path="mid.txt"),)),
            ScriptedReply(text="done"),
        ],
        context_window=1000,
        quirks=quirks,
    ) as server:
        raw = {"model": {"context_window": 2048}, "compaction": {"threshold": 0.5}}
        engine = engine_for(make_config(server.base_url, workspace, raw), workspace, store)
        events = await run_prompt(engine, "read mid.txt")
        assert of_type(events, p.TurnComplete) == [p.TurnComplete("done", 2)]
        assert [w.kind for w in of_type(events, p.Warning)] == ["retry", "compaction"]
        # the call, the empty stream and its one retry, the folded request
        assert len(server.requests) == 4
        assert server.requests[3].messages[-1]["content"].startswith("[tool output folded:")
        assert engine.state.context_window < 2048  # assumed smaller for this session only
        assert load_record(server.base_url, "gpt-4o-mini").context_window is None


async def test_a_message_larger_than_the_window_says_what_does_not_fit(
    store: Store, workspace: Path
) -> None:
    """Nothing can be folded: one plain message. Against a known window the request is
    not even sent; against a guessed one, the empty stream and its one retry (not five)."""
    quirks = dataclasses.replace(LLAMA_CPP_PYTHON, calls_as_text=None)
    huge = " ".join(f"w{i}" for i in range(8000))
    for known, requests in ((True, 0), (False, 2)):
        with ScriptedServer([], context_window=4096, quirks=quirks) as server:
            cfg = make_config(server.base_url, workspace)
            if not known:  # as llama-cpp-python: its window is nowhere to be asked
                save_record(
                    EndpointRecord(
                        server.base_url, "gpt-4o-mini", window_checked=True, window_warned=True
                    )
                )
            engine = engine_for(cfg, workspace, store)
            events = await run_prompt(engine, f"Summarise this: {huge}")
            window = "of 4,096 tokens" if known else "(unknown; 8,192 tokens assumed)"
            errors = [e.message for e in of_type(events, p.Error)]
            assert len(errors) == 1 and errors[0].startswith(
                f"the request does not fit the model's context window {window}: it is about "
            )
            assert "even after folding what could be folded. The largest part is your " in errors[0]
            assert "Send less text at once" in errors[0] and "model.context_window" in errors[0]
            assert of_type(events, p.TurnAborted) == [p.TurnAborted("context overflow")]
            assert len(server.requests) == requests
            calls = store.model_calls(engine.state.id)
            assert [bool(c.error) for c in calls] == [True] * (requests // 2)


async def test_reported_usage_anchors_compaction_counts(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(ScriptedReply(text="hi", usage=(321, 4)))
    engine = engine_for(make_config(server.base_url, workspace), workspace, store)
    await engine.start()
    events = await drive(engine, "hello")
    await engine.submit(p.Shutdown())
    assert [u.estimated for u in of_type(events, p.TokenUsage)] == [False]
    assert memory_hooks.tracker(engine.state).anchor == (1, 321)
    assert [c.usage_estimated for c in store.model_calls(engine.state.id)] == [False]


async def test_sessions_starting_together_ask_the_endpoint_once_before_any_stream(
    store: Store, workspace: Path
) -> None:
    """A batch: the window lookup waits for no stream and no stream waits beside it."""
    replies = [
        ScriptedReply(text=f"answer {i}", usage=None, stall_after_chunks=1, stall_seconds=0.2)
        for i in range(3)
    ]
    with ScriptedServer(replies, quirks=LLAMA_CPP_PYTHON, context_window=None) as server:
        cfg = make_config(server.base_url, workspace, {"model": {"max_retries": 0}})
        engines = [engine_for(cfg, workspace, store) for _ in range(3)]
        runs = await asyncio.gather(
            *(run_prompt(e, f"question {i}") for i, e in enumerate(engines))
        )
        assert sorted(of_type(events, p.TurnComplete)[0].text for events in runs) == [
            "answer 0",
            "answer 1",
            "answer 2",
        ]
        asked = [(m, path) for m, path, _ in server.http_log]
        assert (
            asked
            == [("GET", "/v1/models"), ("GET", "/props"), ("POST", "/api/show")]
            + [("POST", "/v1/chat/completions")] * 3
        )
        said = [w for events in runs for w in warnings(events)]
        assert len(said) == 1 and "is unknown" in said[0]  # once, not once per session
