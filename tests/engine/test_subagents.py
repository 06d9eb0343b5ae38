"""Subagents through the real engine, the shared executor and one scripted server.

The server plays one script per conversation: a request belongs to the conversation
whose first user message it carries (the user's prompt for the parent, the task's
prompt for a child), and its reply is the script's next one after the assistant
messages it already holds, so parallel children each get theirs and a resumed child
goes on where it stopped. Every request is validated like the real API.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hermes import protocol as p
from hermes.store.children import children
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ChatRequest, ScriptedCall, ScriptedReply
from tests.support import make_config, make_engine, of_type, run_prompt


class Router:
    """A script function: one list of replies per conversation (see the module doc)."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[ScriptedReply]] = {}
        self.before: dict[tuple[str, int], Callable[[], None]] = {}
        self.lock = threading.Lock()
        self.seen: list[tuple[str, int]] = []

    def add(self, first_user: str, *replies: ScriptedReply) -> None:
        self.scripts[first_user] = list(replies)

    def __call__(self, request: ChatRequest) -> ScriptedReply:
        users = [m for m in request.messages if m.get("role") == "user"]
        key = str(users[0]["content"]) if users else ""
        step = sum(1 for m in request.messages if m.get("role") == "assistant")
        with self.lock:
            self.seen.append((key, step))
        hook = self.before.get((key, step))
        if hook is not None:
            hook()
        return self.scripts[key][step]


@pytest.fixture
def router() -> Router:
    return Router()


@pytest.fixture
def routed(router: Router) -> Iterator[ScriptedServer]:
    with ScriptedServer(router) as srv:
        yield srv


def call(name: str, cid: str, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


def task(cid: str, description: str, prompt: str, agent: str | None = None) -> ScriptedCall:
    args = {"description": description, "prompt": prompt}
    if agent is not None:
        args["agent"] = agent
    return ScriptedCall("task", json.dumps(args), cid)


def inner(events: list[p.Event], cls: type) -> list[tuple[str, object]]:
    """``(task call id, child event)`` of every wrapped child event of type ``cls``."""
    return [
        (e.call_id, e.event) for e in of_type(events, p.SubagentEvent) if isinstance(e.event, cls)
    ]


async def test_three_parallel_subagents_read_and_one_edits(
    routed: ScriptedServer, router: Router, workspace: Path, store: Store
) -> None:
    for name in "abc":
        (workspace / f"{name}.txt").write_text(f"{name} says {name.upper()}\n")
    router.add(
        "look at a, b and c",
        ScriptedReply(
            text="Splitting it up.",
            tool_calls=(
                task("t1", "read a", "What does a.txt say?", "explore"),
                task("t2", "read b", "What does b.txt say?", "explore"),
                task("t3", "fix c", "Make c.txt say C!"),
            ),
        ),
        ScriptedReply(text="a: A, b: B, and c now says C!"),
    )
    router.add(
        "What does a.txt say?",
        ScriptedReply(tool_calls=(call("read_file", "r1", path="a.txt"),)),
        ScriptedReply(text="a.txt says A"),
    )
    router.add(
        "What does b.txt say?",
        ScriptedReply(tool_calls=(call("read_file", "r1", path="b.txt"),)),
        ScriptedReply(text="b.txt says B"),
    )
    router.add(
        "Make c.txt say C!",
        ScriptedReply(
            tool_calls=(
                call("read_file", "r1", path="c.txt"),
                call("write_file", "w1", path="c.txt", content="c says C!\n"),
            )
        ),
        ScriptedReply(text="c.txt now says C!"),
    )
    # Each child's first request waits until all three have asked: they run together,
    # or this times out.
    together = threading.Barrier(3, timeout=20)
    for prompt in ("What does a.txt say?", "What does b.txt say?", "Make c.txt say C!"):
        router.before[(prompt, 0)] = together.wait

    config = make_config(routed.base_url, workspace, approval_mode="auto-edit")
    engine = make_engine(config, workspace, store)
    events = await run_prompt(engine, "look at a, b and c")

    assert routed.rejections == [] and routed.errors == []
    assert of_type(events, p.TurnComplete)[-1].text == "a: A, b: B, and c now says C!"
    ends = {e.call_id: e for e in of_type(events, p.ToolCallEnd)}
    assert {k: (v.status, v.output) for k, v in ends.items()} == {
        "t1": ("done", "a.txt says A"),
        "t2": ("done", "b.txt says B"),
        "t3": ("done", "c.txt now says C!"),
    }
    assert (workspace / "c.txt").read_text() == "c says C!\n"

    # The parent's history, as the strict API saw it last.
    last = [(m["role"], m.get("tool_call_id")) for m in routed.requests[-1].messages]
    assert last == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "t1"),
        ("tool", "t2"),
        ("tool", "t3"),
    ]

    # Stored and linked: one child session per task call, its own history.
    links = children(store, engine.state.id)
    assert sorted((c.parent_call_id, c.agent) for c in links) == [
        ("t1", "read a"),
        ("t2", "read b"),
        ("t3", "fix c"),
    ]
    by_call = {c.parent_call_id: c for c in links}
    c_history = [
        (m.message.role, m.message.tool_call_id)
        for m in store.load_messages(by_call["t3"].session_id)
    ]
    assert c_history == [
        ("user", None),
        ("assistant", None),
        ("tool", "r1"),
        ("tool", "w1"),
        ("assistant", None),
    ]
    assert store.list_sessions() == [store.get_session(engine.state.id)]  # children nest

    # The children's calls reach the parent tagged, ids prefixed by the task call.
    child_ends = sorted((cid, e.call_id, e.status) for cid, e in inner(events, p.ToolCallEnd))  # type: ignore[attr-defined]
    assert child_ends == [
        ("t1", "t1/r1", "done"),
        ("t2", "t2/r1", "done"),
        ("t3", "t3/r1", "done"),
        ("t3", "t3/w1", "done"),
    ]
    assert {e.agent for e in of_type(events, p.SubagentEvent)} == {"read a", "read b", "fix c"}
    assert inner(events, p.AssistantDelta) == []  # deltas stay inside the child

    # One executor for all of them, with each session's share counted.
    stats = engine.state.executor
    assert stats.snapshot(by_call["t3"].session_id).requests == 2
    assert stats.snapshot(by_call["t1"].session_id).requests == 1
    assert stats.snapshot(engine.state.id).requests == 0  # the task calls ran on the engine


async def test_an_explore_agent_has_only_read_tools(
    routed: ScriptedServer, router: Router, workspace: Path, store: Store
) -> None:
    router.add(
        "map it",
        ScriptedReply(tool_calls=(task("t1", "map", "List the files.", "explore"),)),
        ScriptedReply(text="Mapped."),
    )
    router.add(
        "List the files.",
        ScriptedReply(tool_calls=(call("terminal", "x1", command="ls"),)),
        ScriptedReply(text="I cannot run commands."),
    )
    engine = make_engine(make_config(routed.base_url, workspace), workspace, store)
    events = await run_prompt(engine, "map it")
    child_requests = [r for r in routed.requests if r.messages[1]["content"] == "List the files."]
    tools = [t["function"]["name"] for t in child_requests[0].body["tools"]]
    assert tools == ["read_file", "search_files", "skills_list", "skill_view"]
    parent_tools = [t["function"]["name"] for t in routed.requests[0].body["tools"]]
    assert {"task", "exit_plan_mode", "todo_write", "terminal"} <= set(parent_tools)
    (end,) = [e for _, e in inner(events, p.ToolCallEnd)]
    assert end.status == "failed" and "unknown tool 'terminal'" in end.output  # type: ignore[attr-defined]


async def test_a_childs_approval_is_denied_by_policy_headless(
    routed: ScriptedServer, router: Router, workspace: Path, store: Store
) -> None:
    router.add(
        "make it",
        ScriptedReply(tool_calls=(task("t1", "maker", "Create made.txt."),)),
        ScriptedReply(text="It could not."),
    )
    router.add(
        "Create made.txt.",
        ScriptedReply(tool_calls=(call("terminal", "c1", command="touch made.txt"),)),
        ScriptedReply(text="I was not allowed to."),
    )
    engine = make_engine(make_config(routed.base_url, workspace), workspace, store)
    events = await run_prompt(engine, "make it")
    assert of_type(events, p.ApprovalRequested) == []
    resolved = [e for _, e in inner(events, p.ApprovalResolved)]
    assert [(e.call_id, e.decision, e.by) for e in resolved] == [("t1/c1", "deny", "policy")]  # type: ignore[attr-defined]
    assert not (workspace / "made.txt").exists()
    task_end = [e for e in of_type(events, p.ToolCallEnd) if e.call_id == "t1"]
    assert task_end[0].output == "I was not allowed to."


async def test_a_childs_approval_is_answered_through_the_parent(
    routed: ScriptedServer, router: Router, workspace: Path, store: Store
) -> None:
    router.add(
        "make it",
        ScriptedReply(tool_calls=(task("t1", "maker", "Create made.txt."),)),
        ScriptedReply(text="Made."),
    )
    router.add(
        "Create made.txt.",
        ScriptedReply(tool_calls=(call("terminal", "c1", command="touch made.txt"),)),
        ScriptedReply(text="made.txt exists now."),
    )
    engine = make_engine(
        make_config(routed.base_url, workspace), workspace, store, interactive=True
    )
    await engine.start()
    await engine.submit(p.UserTurn("make it"))
    events: list[p.Event] = []

    async def collect() -> None:
        async for ev in engine.events():
            events.append(ev)
            if isinstance(ev, p.SubagentEvent) and isinstance(ev.event, p.ApprovalRequested):
                await engine.submit(p.ApprovalReply(ev.event.call_id, "once"))
            if isinstance(ev, p.TurnComplete | p.TurnAborted):
                return

    await asyncio.wait_for(collect(), 30)
    await engine.submit(p.Shutdown())
    asked = [e for _, e in inner(events, p.ApprovalRequested)]
    assert [(a.call_id, a.name) for a in asked] == [("t1/c1", "terminal")]  # type: ignore[attr-defined]
    assert (workspace / "made.txt").exists()
    assert of_type(events, p.TurnComplete)[-1].text == "Made."


async def test_deny_and_stop_in_a_child_stops_the_parent_turn(
    routed: ScriptedServer, router: Router, workspace: Path, store: Store
) -> None:
    router.add("make it", ScriptedReply(tool_calls=(task("t1", "maker", "Create made.txt."),)))
    router.add(
        "Create made.txt.",
        ScriptedReply(tool_calls=(call("terminal", "c1", command="touch made.txt"),)),
    )
    engine = make_engine(
        make_config(routed.base_url, workspace), workspace, store, interactive=True
    )
    await engine.start()
    await engine.submit(p.UserTurn("make it"))
    events: list[p.Event] = []

    async def collect() -> None:
        async for ev in engine.events():
            events.append(ev)
            if isinstance(ev, p.SubagentEvent) and isinstance(ev.event, p.ApprovalRequested):
                await engine.submit(p.ApprovalReply(ev.event.call_id, "abort"))  # Esc
            if isinstance(ev, p.TurnComplete | p.TurnAborted):
                return

    await asyncio.wait_for(collect(), 30)
    await engine.submit(p.Shutdown())
    assert of_type(events, p.TurnAborted) == [
        p.TurnAborted("denied by the user, who stopped the turn (in subagent 'maker')")
    ]
    assert [cid for cid, _ in inner(events, p.TurnAborted)] == ["t1"]
    (end,) = of_type(events, p.ToolCallEnd)
    assert (end.call_id, end.status) == ("t1", "denied")
    assert not (workspace / "made.txt").exists()
    assert len(routed.requests) == 2  # the parent's and the child's first: nothing after


async def test_interrupt_stops_the_parent_and_every_child(
    routed: ScriptedServer, router: Router, workspace: Path, store: Store
) -> None:
    stall = ScriptedReply(
        text="Looking around and", chunk_size=5, stall_after_chunks=3, stall_seconds=60
    )
    router.add(
        "look",
        ScriptedReply(
            tool_calls=(
                task("t1", "one", "Look at one.", "explore"),
                task("t2", "two", "Look at two.", "explore"),
            )
        ),
        ScriptedReply(text="OK."),
    )
    router.add("Look at one.", stall)
    router.add("Look at two.", stall)
    engine = make_engine(
        make_config(routed.base_url, workspace), workspace, store, interactive=True
    )
    await engine.start()
    await engine.submit(p.UserTurn("look"))
    events: list[p.Event] = []

    async def until(cond: Callable[[p.Event], bool]) -> None:
        async for ev in engine.events():
            events.append(ev)
            if cond(ev):
                return

    assert await asyncio.to_thread(routed.wait_for_stall, 30, 2)  # both children mid-stream

    def streamed() -> bool:  # what each child received is saved (its draft) before Esc
        links = children(store, engine.state.id)
        return len(links) == 2 and all(store.draft(c.session_id) == "Looking ar" for c in links)

    for _ in range(1500):
        if await asyncio.to_thread(streamed):
            break
        await asyncio.sleep(0.02)
    await engine.submit(p.Interrupt())
    await asyncio.wait_for(until(lambda ev: isinstance(ev, p.TurnAborted)), 30)
    ends = {e.call_id: e for e in of_type(events, p.ToolCallEnd)}
    assert {k: v.status for k, v in ends.items()} == {"t1": "interrupted", "t2": "interrupted"}
    assert "interrupted" in ends["t1"].output
    child_aborts = sorted(cid for cid, _ in inner(events, p.TurnAborted))
    assert child_aborts == ["t1", "t2"]
    assert not engine.busy and engine.state.children == {}
    # Each child kept what it had streamed, marked interrupted; the parent's history is
    # valid for the next request.
    for link in children(store, engine.state.id):
        stored = store.load_messages(link.session_id)
        assert stored[-1].interrupted and stored[-1].message.content == "Looking ar"
    events.clear()
    await engine.submit(p.UserTurn("never mind"))
    await asyncio.wait_for(until(lambda ev: isinstance(ev, p.TurnComplete)), 30)
    await engine.submit(p.Shutdown())
    assert routed.rejections == []


def test_kill_9_during_a_child_then_resume_continues_it(
    routed: ScriptedServer, router: Router, workspace: Path, hermes_home: Path
) -> None:
    from tests.engine.test_kill import Db, Hermes, hermes_run, wait_until

    (workspace / "one.txt").write_text("one says 1\n")
    router.add(
        "look at one",
        ScriptedReply(tool_calls=(task("t1", "one", "Look at one.", "explore"),)),
        ScriptedReply(text="It says 1."),
    )
    router.add(
        "Look at one.",
        ScriptedReply(tool_calls=(call("read_file", "r1", path="one.txt"),)),
        ScriptedReply(
            text="Looking around and", chunk_size=5, stall_after_chunks=3, stall_seconds=120
        ),
        ScriptedReply(text="one.txt says 1"),
    )
    h = Hermes(
        ["-p", "look at one", "--base-url", routed.base_url, "--output-format", "stream-json"],
        home=hermes_home,
        cwd=workspace,
    )
    assert routed.wait_for_stall(timeout=30)  # the child is mid-reply
    db = Db(hermes_home)
    wait_until(lambda: db.q("SELECT content FROM drafts") == [("Looking ar",)], "the draft")
    h.kill()
    db.intact()
    (parent,) = db.q("SELECT id FROM sessions WHERE parent_session_id IS NULL")
    ((child, call_id),) = db.q(
        "SELECT id, parent_call_id FROM sessions WHERE parent_session_id = ?", parent[0]
    )
    assert call_id == "t1"
    assert db.q(
        "SELECT status FROM tool_calls WHERE session_id = ? AND call_id = 't1'", parent[0]
    ) == [("requested",)]

    run = hermes_run(
        "-p",
        "and now?",
        "--resume",
        parent[0],
        "--base-url",
        routed.base_url,
        "--output-format",
        "json",
        home=hermes_home,
        cwd=workspace,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result"] == "It says 1."
    assert routed.rejections == [] and routed.errors == []
    # The child went on where it stopped (its partial reply kept), not from scratch.
    roles = db.q(
        "SELECT role, content, interrupted FROM messages WHERE session_id = ? ORDER BY seq", child
    )
    assert [(r[0], r[2]) for r in roles] == [
        ("user", 0),
        ("assistant", 0),
        ("tool", 0),
        ("assistant", 1),
        ("user", 0),
        ("assistant", 0),
    ]
    assert roles[3][1] == "Looking ar" and roles[-1][1] == "one.txt says 1"
    assert db.q("SELECT COUNT(*) FROM sessions WHERE parent_session_id = ?", parent[0]) == [(1,)]
    last = [(m["role"], m.get("tool_call_id")) for m in routed.requests[-1].messages]
    assert last == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "t1"),
        ("user", None),
    ]
    assert routed.requests[-1].messages[3]["content"] == "one.txt says 1"
