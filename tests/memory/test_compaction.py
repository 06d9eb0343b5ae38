"""Compaction end to end: the scripted model, real SQLite, real tools, small windows."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hermes import protocol as p
from hermes.engine import memory_hooks
from hermes.engine.engine import Engine
from hermes.memory.budget import SUMMARY_SYSTEM, ContextBudget, summary_message, summary_request
from hermes.messages import Message
from hermes.prompt.system import build_system_prompt
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ChatRequest, ScriptedServer
from hermes.testing.scripted.types import LLAMA_CPP_PYTHON, ScriptedCall, ScriptedReply
from hermes.tokens import TokenCounter
from tests.support import kinds, make_config, make_engine, of_type

SUMMARY_REPLY = """GOAL:
Set up the project.
DECISIONS:
- pytest
FILES:
- none
COMMANDS:
- none
OPEN QUESTIONS:
- none
NEXT STEPS:
- keep going
FACTS:
- [project] test command: Tests run with make test
"""
SUMMARY = (
    "GOAL:\nSet up the project.\n\nDECISIONS:\n- pytest\n\nFILES:\n- none\n\nCOMMANDS:\n"
    "- none\n\nOPEN QUESTIONS:\n- none\n\nNEXT STEPS:\n- keep going"
)
COUNTER = TokenCounter()
LIMIT = 3200  # 0.8 of a 4,000-token window


class Model:
    """Answers summary requests with ``summaries`` (in turn), everything else in order."""

    def __init__(self, replies: Sequence[ScriptedReply], summaries: Sequence[ScriptedReply]):
        self.replies = list(replies)
        self.summaries = list(summaries)
        self.summary_requests: list[ChatRequest] = []
        self.requests: list[ChatRequest] = []
        self._lock = threading.Lock()

    def __call__(self, request: ChatRequest) -> ScriptedReply:
        with self._lock:
            if request.messages[0]["content"] == SUMMARY_SYSTEM:
                self.summary_requests.append(request)
                return self.summaries.pop(0)
            self.requests.append(request)
            return self.replies.pop(0)


def prose(n: int) -> str:
    """About 150 tokens of text without facts in it."""
    return f"Part {n}: " + " ".join(f"item{n}x{i} looks fine" for i in range(40))


def tokens(*messages: Message) -> int:
    return sum(COUNTER.count_message(m) for m in messages)


def config(server: ScriptedServer, workspace: Path, **compaction: Any) -> Any:
    raw = {
        "model": {"context_window": 4000, "max_retries": 0},
        "compaction": {"keep_recent_tokens": 200, **compaction},
    }
    return make_config(server.base_url, workspace, raw, approval_mode="yolo")


async def turn(engine: Engine, text: str) -> list[p.Event]:
    """One turn's events, including the facts found by the scan after it."""
    await engine.submit(p.UserTurn(text))
    return await settle(engine)


async def settle(
    engine: Engine, end: tuple[type, ...] = (p.TurnComplete, p.TurnAborted)
) -> list[p.Event]:
    events: list[p.Event] = []

    async def collect() -> None:
        async for ev in engine.events():
            events.append(ev)
            if isinstance(ev, end):
                return

    await asyncio.wait_for(collect(), 30)
    await engine.wait_idle()
    scan = memory_hooks.tracker(engine.state).scan_task
    if scan is not None:
        await scan
    while not engine._queue.empty():
        events.append(engine._queue.get_nowait())  # type: ignore[arg-type]
    return events


def view(request: ChatRequest) -> list[tuple[str, str | None]]:
    return [(m["role"], m.get("content")) for m in request.messages]


U = [Message("user", prose(i)) for i in range(6)]
A = [Message("assistant", prose(10 + i)) for i in range(6)]
U[1] = Message("user", "I prefer pytest over unittest. " + prose(1))


def scripted(usages: Sequence[int]) -> list[ScriptedReply]:
    return [ScriptedReply(text=A[i].content or "", usage=(u, 1)) for i, u in enumerate(usages)]


async def four_turns(engine: Engine, *, summary_ok: bool = True) -> list[list[p.Event]]:
    await engine.start()
    return [await turn(engine, U[i].content or "") for i in range(4)]


# usage reported after turns 1-3: turn 3 lands one token under the limit, turn 4 on it
USAGES = [
    1000,
    LIMIT - 1 - tokens(A[1], U[2]),
    LIMIT - tokens(A[2], U[3]),
    3000,
    3000,
]


async def test_compaction_runs_at_the_threshold(store: Store, workspace: Path) -> None:
    model = Model(scripted(USAGES), [ScriptedReply(text=SUMMARY_REPLY)])
    with ScriptedServer(model) as server:
        engine = make_engine(config(server, workspace), workspace, store)
        events = await four_turns(engine)
        assert [e for e in events[1] if isinstance(e, p.FactsExtracted)] == [
            p.FactsExtracted(1, ("The user prefers pytest over unittest",))
        ]
        assert "Warning" not in kinds(events[2])  # one token under: no compaction
        assert kinds(events[3]) == [
            "TurnStarted",
            "Warning",
            "FactsExtracted",
            "CompactionDone",
            "AssistantMessage",
            "TurnComplete",
        ]
        summary = summary_message(SUMMARY, 5)
        kept = [Message("system", "You are a test."), U[0], summary, U[3]]
        budget = ContextBudget(4000, 0.8, COUNTER)
        after = budget.count(kept, engine.state.tool_schemas())
        assert of_type(events[3], p.Warning) == [
            p.Warning(
                "compacting: 3,200 tokens of 4,000 (80% reached the 80% threshold); folding 5 "
                "turns into a summary",
                kind="compaction",
            )
        ]
        assert of_type(events[3], p.FactsExtracted) == [
            p.FactsExtracted(1, ("Tests run with make test",))
        ]
        assert of_type(events[3], p.CompactionDone) == [p.CompactionDone(LIMIT, after, 5, SUMMARY)]
        # the summary call got the folded turns; the request then went out compacted
        (asked,) = model.summary_requests
        expected = summary_request("", [A[0], U[1], A[1], U[2], A[2]], 2000, COUNTER.count_text)
        assert asked.messages == [m.to_openai() for m in expected]
        assert "tools" not in asked.body
        assert view(model.requests[3]) == [(m.role, m.content) for m in kept]
        assert engine.state.history == [U[0], summary, U[3], A[3]]
        sid = engine.state.id
        await engine.submit(p.Shutdown())
        assert [(m.seq, m.folded) for m in store.load_messages(sid)] == [
            (0, False), (1, True), (2, True), (3, True), (4, True), (5, True), (6, False),
            (7, False),
        ]  # fmt: skip
        assert server.rejections == []


async def test_resume_after_compaction_rebuilds_the_same_view(
    store: Store, workspace: Path
) -> None:
    model = Model(scripted([*USAGES, 1000]), [ScriptedReply(text=SUMMARY_REPLY)])
    with ScriptedServer(model) as server:
        cfg = config(server, workspace)
        first = make_engine(cfg, workspace, store)
        await four_turns(first)
        await first.submit(p.Shutdown())
        live = list(first.state.history)
        second = make_engine(cfg, workspace, store, resume=store.get_session(first.state.id))
        await second.start()
        assert second.state.history == live
        await turn(second, U[4].content or "")
        assert view(model.requests[-1]) == [
            ("system", "You are a test."),
            *((m.role, m.content) for m in live),
            ("user", U[4].content),
        ]
        await second.submit(p.Shutdown())
        assert server.rejections == []


async def test_a_failed_summary_drops_nothing_and_is_retried_next_turn(
    store: Store, workspace: Path
) -> None:
    model = Model(
        scripted(USAGES),
        [ScriptedReply(status=500, text="summarizer down"), ScriptedReply(text=SUMMARY_REPLY)],
    )
    with ScriptedServer(model) as server:
        engine = make_engine(config(server, workspace), workspace, store)
        events = await four_turns(engine)
        assert kinds(events[3]) == [
            "TurnStarted",
            "Warning",
            "Warning",
            "AssistantMessage",
            "TurnComplete",
        ]
        assert of_type(events[3], p.Warning)[1] == p.Warning(
            "compaction failed: model request failed after 1 attempts: server error 500: "
            "summarizer down. Nothing was dropped (the full conversation is kept); retrying on "
            "the next turn.",
            kind="compaction",
        )
        full = [("system", "You are a test.")] + [
            (m.role, m.content) for m in (U[0], A[0], U[1], A[1], U[2], A[2], U[3])
        ]
        assert view(model.requests[3]) == full
        sid = engine.state.id
        assert not any(m.folded for m in store.load_messages(sid))
        assert "server error 500: summarizer down" in store.model_calls(sid)[3].error
        # next turn: the retry succeeds
        events5 = await turn(engine, U[4].content or "")
        assert "CompactionDone" in kinds(events5)
        assert view(model.requests[4])[2] == ("user", summary_message(SUMMARY, 7).content)
        await engine.submit(p.Shutdown())
        assert server.rejections == []


async def test_a_fold_keeps_each_call_with_its_result_mid_turn(
    store: Store, workspace: Path
) -> None:
    for i in range(3):
        (workspace / f"f{i}.txt").write_text(prose(20 + i) + "\n")

    def read(i: int) -> ScriptedReply:
        args = json.dumps({"path": f"f{i}.txt"})
        return ScriptedReply(
            tool_calls=(ScriptedCall("read_file", args, f"r{i}"),), usage=(1000, 1)
        )

    replies = [read(0), read(1), read(2)]
    replies[2] = ScriptedReply(tool_calls=replies[2].tool_calls, usage=(LIMIT + 10, 1))
    model = Model(
        [*replies, ScriptedReply(text="all read", usage=(900, 1))],
        [ScriptedReply(text=SUMMARY_REPLY)],
    )
    with ScriptedServer(model) as server:
        engine = make_engine(config(server, workspace), workspace, store)
        await engine.start()
        events = await turn(engine, U[0].content or "")
        assert "CompactionDone" in kinds(events)
        sent = model.requests[-1].messages
        # [system, first request, summary, the last call and its result]
        assert [m["role"] for m in sent] == ["system", "user", "user", "assistant", "tool"]
        assert sent[3]["tool_calls"][0]["id"] == "r2" and sent[4]["tool_call_id"] == "r2"
        assert of_type(events, p.CompactionDone)[0].turns_folded == 2  # r0 and r1 with results
        await engine.submit(p.Shutdown())
        assert server.rejections == []


async def test_when_the_window_is_truly_exceeded_old_outputs_become_digests(
    store: Store, workspace: Path
) -> None:
    # about 1,300 tokens: it fits, but later the whole view does not
    (workspace / "big.txt").write_text("\n".join(f"line {i} of the big file" for i in range(120)))
    call = ScriptedCall("read_file", json.dumps({"path": "big.txt"}), "r1")
    model = Model(
        [
            ScriptedReply(tool_calls=(call,), usage=(1000, 1)),
            ScriptedReply(text="read it", usage=(3600, 1)),  # over the 3,500 hard limit
            ScriptedReply(text="ok", usage=(900, 1)),
            ScriptedReply(text="ok again", usage=(900, 1)),
        ],
        [ScriptedReply(status=503)],
    )
    with ScriptedServer(model) as server:
        engine = make_engine(config(server, workspace), workspace, store)
        await engine.start()
        await turn(engine, "read big.txt")
        size = len(store.load_messages(engine.state.id)[2].message.content or "")
        events = await turn(engine, "thanks")
        over = 3600 + tokens(Message("assistant", "read it"), Message("user", "thanks"))
        assert [w.message.split(":")[0] for w in of_type(events, p.Warning)] == [
            "compacting",
            "compaction failed",
            f"the request would not fit the window ({over:,} of 4,000 tokens)",
        ]
        digest = f'[tool output folded: read_file {{"path": "big.txt"}} · {size:,} bytes]'
        sent = model.requests[2].messages
        assert [(m["role"], m["content"]) for m in sent[1:]] == [
            ("user", "read big.txt"),
            ("assistant", ""),
            ("tool", digest),
            ("assistant", "read it"),
            ("user", "thanks"),
        ]
        await engine.submit(p.Shutdown())
        # the full output stays in the database, and resume rebuilds the digested view
        assert len(store.load_messages(engine.state.id)[2].message.content or "") == size
        again = make_engine(
            engine.state.config, workspace, store, resume=store.get_session(engine.state.id)
        )
        await again.start()
        assert again.state.history == engine.state.history
        await again.submit(p.Shutdown())
        assert server.rejections == []


async def test_compact_op_when_idle_and_while_a_turn_runs(store: Store, workspace: Path) -> None:
    model = Model(
        [
            ScriptedReply(text=A[0].content or "", usage=(500, 1)),
            ScriptedReply(text=A[1].content or "", usage=(500, 1)),
            ScriptedReply(text="slow", stall_after_chunks=1, stall_seconds=1.5, usage=(500, 1)),
            ScriptedReply(text="after", usage=(500, 1)),
        ],
        [ScriptedReply(text=SUMMARY_REPLY), ScriptedReply(text=SUMMARY_REPLY)],
    )
    with ScriptedServer(model) as server:
        engine = make_engine(config(server, workspace), workspace, store, interactive=True)
        await engine.start()
        await settle(engine, (p.SessionStarted,))
        await engine.submit(p.Compact())
        nothing = await settle(engine, (p.Warning,))
        assert nothing == [
            p.Warning("nothing to compact: the conversation fits in the recent-turns budget")
        ]
        await turn(engine, U[0].content or "")
        await turn(engine, U[1].content or "")
        await engine.submit(p.Compact())
        done = await settle(engine, (p.CompactionDone,))
        assert kinds(done) == ["Warning", "FactsExtracted", "CompactionDone"]
        before = 500 + tokens(A[1])  # reported for the last request, plus its reply
        assert done[0] == p.Warning(
            f"compacting: {before:,} tokens of 4,000 on request; folding 2 turns into a summary",
            kind="compaction",
        )
        assert done[2].tokens_before == before and done[2].turns_folded == 2
        # while a turn runs, /compact waits for the next model request
        await engine.submit(p.UserTurn(U[2].content or ""))
        assert await asyncio.to_thread(server.wait_for_stall)
        await engine.submit(p.Compact())
        await engine.submit(p.UserTurn("and then?"))
        events = await settle(engine)
        assert kinds(events) == [
            "TurnStarted",
            "Warning",  # compaction will run before the next model request
            "AssistantMessage",
            "UserMessage",
            "Warning",
            "CompactionDone",
            "AssistantMessage",
            "TurnComplete",
        ]
        assert of_type(events, p.Warning)[0] == p.Warning(
            "compaction will run before the next model request", kind="compaction"
        )
        assert len(model.summary_requests) == 2
        await engine.submit(p.Shutdown())
        assert server.rejections == []


class CappedModel:
    """Plays ``replies`` in order, or else reads ``big.txt`` then answers, turn after
    turn; summaries are long and, like a real server, cut at the request's ``max_tokens``
    (~4 characters a token)."""

    def __init__(self, summary_chars: int, replies: Sequence[ScriptedReply] = ()) -> None:
        self.replies = list(replies)
        details = "".join(
            f"- detail {i}: the file big.txt was read again and looked the same\n"
            for i in range(summary_chars // 60)
        )
        self.summary = SUMMARY_REPLY.replace("DECISIONS:\n", "DECISIONS:\n" + details)
        self.summary_caps: list[Any] = []
        self.turn = 0
        self._lock = threading.Lock()

    def __call__(self, request: ChatRequest) -> ScriptedReply:
        with self._lock:
            if request.messages[0]["content"] == SUMMARY_SYSTEM:
                cap = request.body.get("max_tokens")
                self.summary_caps.append(cap)
                text = self.summary[: cap * 4] if isinstance(cap, int) else self.summary
                cut = len(text) < len(self.summary)
                return ScriptedReply(text=text, usage=None, finish_reason="length" if cut else None)
            if self.replies:
                return self.replies.pop(0)
            if request.messages[-1]["role"] == "user":
                self.turn += 1
                return ScriptedReply(
                    tool_calls=(ScriptedCall("read_file", json.dumps({"path": "big.txt"})),),
                    usage=None,
                )
            return ScriptedReply(text=f"big.txt looks fine ({self.turn})", usage=None)


async def test_every_compaction_makes_the_request_smaller(store: Store, workspace: Path) -> None:
    """Finding 3: with an 8,192-token window and an 8 KB file read every turn, each
    compaction shrinks the request, every summary request is capped, and the server (which
    counts ~4 characters a token and answers an empty stream past its window) is never
    asked more than it can take."""
    (workspace / "big.txt").write_text(
        "".join(f"{i:04d} the quick brown fox jumps over the lazy dog\n" for i in range(160))
    )
    assert 7_500 < (workspace / "big.txt").stat().st_size < 8_500
    model = CappedModel(summary_chars=30_000)  # far past any cap: ~7,500 tokens
    quirks = dataclasses.replace(LLAMA_CPP_PYTHON, calls_as_text=None)
    with ScriptedServer(model, context_window=8192, quirks=quirks) as server:
        raw = {"model": {"context_window": 8192, "max_retries": 0}}
        engine = make_engine(make_config(server.base_url, workspace, raw), workspace, store)
        await engine.start()
        events: list[p.Event] = []
        for i in range(8):
            events += await turn(engine, f"read big.txt again ({i})")
        await engine.submit(p.Shutdown())
    assert len(of_type(events, p.TurnComplete)) == 8 and of_type(events, p.Error) == []
    done = of_type(events, p.CompactionDone)
    assert len(done) >= 3
    assert all(d.tokens_after < d.tokens_before for d in done), [
        (d.tokens_before, d.tokens_after) for d in done
    ]
    assert model.summary_caps == [2048] * len(done)
    sizes = [r.raw_size for r in server.requests if r.body.get("tools")]
    assert max(sizes) < 8192 * 4  # under the server's window, by its own count
    assert not [w for w in of_type(events, p.Warning) if w.kind == "retry"]


async def test_a_summary_no_smaller_than_what_it_folds_digests_the_tail_or_changes_nothing(
    store: Store, workspace: Path
) -> None:
    """``/compact`` with little to fold and a long (capped) summary: the tool output kept
    verbatim is folded to a digest as well, in the recorded step (resume sees the same);
    with no tool output to fold, nothing changes."""
    (workspace / "big.txt").write_text(
        "".join(f"{i:04d} the quick brown fox jumps over the lazy dog\n" for i in range(160))
    )
    read = ScriptedCall("read_file", json.dumps({"path": "big.txt"}))
    model = CappedModel(
        30_000,
        [
            ScriptedReply(text="hi"),
            ScriptedReply(tool_calls=(read,), stall_after_chunks=1, stall_seconds=0.5),
            ScriptedReply(text="done"),
            ScriptedReply(text="hi"),
            ScriptedReply(text="hi again"),
        ],
    )
    raw = {"model": {"context_window": 8192}, "compaction": {"keep_recent_tokens": 50}}
    with ScriptedServer(model) as server:
        cfg = make_config(server.base_url, workspace, raw, approval_mode="yolo")
        engine = make_engine(cfg, workspace, store, interactive=True)
        await engine.start()
        await settle(engine, (p.SessionStarted,))
        await turn(engine, "hello")
        await engine.submit(p.UserTurn("read big.txt"))
        assert await asyncio.to_thread(server.wait_for_stall)
        await engine.submit(p.Compact())  # runs before the request after the read
        events = await settle(engine)
        done = of_type(events, p.CompactionDone)
        assert len(done) == 1 and done[0].tokens_after < done[0].tokens_before
        sent = server.requests[-1].messages  # the request after the fold
        assert [m["role"] for m in sent] == ["system", "user", "user", "assistant", "tool"]
        assert sent[2]["content"].startswith("Summary of earlier conversation (2 turns folded")
        assert sent[4]["content"].startswith('[tool output folded: read_file {"path": "big.txt"}')
        live = list(engine.state.history)
        await engine.submit(p.Shutdown())
        resumed = make_engine(cfg, workspace, store, resume=store.get_session(engine.state.id))
        await resumed.start()
        assert resumed.state.history == live
        await resumed.submit(p.Shutdown())

        # no tool output to fold: the summary would not make it smaller; nothing changes
        engine = make_engine(cfg, workspace, store, interactive=True)
        await engine.start()
        await settle(engine, (p.SessionStarted,))
        await turn(engine, prose(1))
        await turn(engine, prose(2))
        before = list(engine.state.history)
        await engine.submit(p.Compact())
        said = await settle(engine, (p.Warning,))  # and what is queued behind it
        while not str(said[-1]).startswith("Warning(message='compaction failed"):
            said += await settle(engine, (p.Warning,))
        messages = [w.message for w in of_type(said, p.Warning)]
        assert len(messages) == 2 and messages[0].endswith("; folding 2 turns into a summary")
        assert messages[1].startswith(
            "compaction failed: the summary would not make the request smaller ("
        )
        assert engine.state.history == before
        await engine.submit(p.Shutdown())


async def test_window_from_endpoint_metadata_or_a_guess_said_once_per_endpoint(
    store: Store, workspace: Path
) -> None:
    """Finding 2 and 17.10: the endpoint is asked once (cached across sessions), before
    the first chat request, never beside one; an unknown window on a loopback server is
    assumed small, and said once per endpoint, not every session."""
    for reported, expected in ((3000, 3000), (None, 8192)):
        model = Model([ScriptedReply(text=t) for t in ("one", "two", "3", "4")], [])
        with ScriptedServer(model, context_window=reported) as server:
            cfg = make_config(server.base_url, workspace)
            said = []
            for _ in range(2):  # two sessions on the same endpoint
                engine = make_engine(cfg, workspace, store)
                await engine.start()
                events = await turn(engine, "hi") + await turn(engine, "again")
                await engine.submit(p.Shutdown())
                assert engine.state.context_window == expected
                assert of_type(events, p.TokenUsage)[-1].context_window == expected
                said.append([w.message for w in of_type(events, p.Warning)])
            if reported is None:
                assert said == [
                    [
                        f"the context window of gpt-4o-mini at {server.base_url} is unknown "
                        "(its /models, /props and /api/show give none); assuming 8,192 tokens "
                        "(a server on this machine). Set model.context_window in config to be "
                        "exact (said once for this endpoint)."
                    ],
                    [],
                ]
            else:
                assert said == [[], []]
            asked = [(m, path) for m, path, _ in server.http_log]
            lookups = [("GET", "/v1/models")]
            if reported is None:
                lookups += [("GET", "/props"), ("POST", "/api/show")]
            chat = [("POST", "/v1/chat/completions")]
            assert asked == lookups + chat * 4  # once, all before the first chat request


async def test_facts_from_one_session_reach_the_next_sessions_system_prompt(
    store: Store, workspace: Path
) -> None:
    model = Model(
        [
            ScriptedReply(text="noted", stall_after_chunks=1, stall_seconds=5),
            ScriptedReply(text="hi"),
        ],
        [],
    )
    with ScriptedServer(model) as server:
        cfg = make_config(server.base_url, workspace)
        first = make_engine(cfg, workspace, store)
        await first.start()
        await first.submit(p.UserTurn("I prefer pytest over unittest. Actually, the port is 5433."))
        assert await asyncio.to_thread(server.wait_for_stall)
        await first.submit(p.Shutdown())  # interrupted, yet the session end saves the facts
        prompt = build_system_prompt(workspace, cfg, store=store)
        assert prompt.endswith(
            "\n- The user prefers pytest over unittest\n- Correction: the port is 5433"
        )
        second = make_engine(cfg, workspace, store, system_prompt=prompt)
        await second.start()
        await turn(second, "hi")
        await second.submit(p.Shutdown())
        assert model.requests[-1].messages[0]["content"] == prompt
