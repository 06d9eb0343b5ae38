"""Resume in process: calls that never ran are offered again, lost results are
synthesized, partial replies are kept, and a failed commit stops the turn before any
tool runs. Stored states are the ones a kill -9 leaves (tests/engine/test_kill.py makes them
with real kills); the model is the scripted server, which validates every request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hermes import protocol as p
from hermes.engine.engine import Engine
from hermes.engine.view import INTERRUPTED_RESULT, NOT_RERUN_SECRET
from hermes.messages import Message, ToolCall
from hermes.store.sessions import SessionRecord, Store, StoredMessage
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import make_config, make_engine, of_type, run_prompt
from tests.support import run_hermes as _hermes


class FaultyStore(Store):
    """A real store whose chosen commits fail inside SQLite (``query_only``), like a
    read-only or failing disk would make them."""

    fail_when: Any = None  # predicate on the message being appended

    def append_message(self, session_id: str, message: Message, **flags: Any) -> StoredMessage:
        broken = self.fail_when is not None and self.fail_when(message)
        if broken:
            self._db.execute("PRAGMA query_only = 1")
        try:
            return super().append_message(session_id, message, **flags)
        finally:
            if broken:
                self._db.execute("PRAGMA query_only = 0")
                self.fail_when = None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FaultyStore]:
    s = FaultyStore(tmp_path / "db" / "hermes.db")
    yield s
    s.close()


def tc(cid: str, name: str, **args: object) -> ToolCall:
    return ToolCall(cid, name, json.dumps(args))


def crashed_session(
    store: Store, workspace: Path, calls: tuple[ToolCall, ...], statuses: dict[str, str]
) -> SessionRecord:
    """What the database holds after a kill -9 during a tool batch."""
    rec = store.create_session(str(workspace), "scripted-model", "ask", title="t")
    store.append_message(rec.id, Message("user", "do it"))
    store.append_message(rec.id, Message("assistant", None, calls))
    for cid, status in statuses.items():
        if status == "done":
            store.append_message(rec.id, Message("tool", f"result of {cid}", tool_call_id=cid))
        else:
            store.set_call_status(rec.id, cid, status)
    return store.get_session(rec.id)


async def next_event(engine: Engine, it: Any, cls: type, wait: float = 20) -> list[p.Event]:
    """Events up to and including the first of type ``cls``."""
    got: list[p.Event] = []

    async def pull() -> None:
        while True:
            ev = await it.__anext__()
            got.append(ev)
            if isinstance(ev, cls):
                return

    await asyncio.wait_for(pull(), wait)
    return got


async def one_turn(engine: Engine, it: Any, text: str) -> list[p.Event]:
    """Submit one prompt to a started engine; its events up to the turn's end."""
    await engine.submit(p.UserTurn(text))
    return await next_event(engine, it, p.TurnComplete | p.TurnAborted)  # type: ignore[arg-type]


def sent(server: ScriptedServer, i: int = -1) -> list[tuple[str, str | None]]:
    return [(m["role"], m.get("tool_call_id")) for m in server.requests[i].messages]


async def test_interactive_resume_offers_the_pending_call_again_without_asking_the_model(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    write = tc("w1", "write_file", path="out.txt", content="hello\n")
    rec = crashed_session(store, workspace, (write,), {"w1": "pending_approval"})
    server.add(ScriptedReply(text="Written."))
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True, resume=rec
    )
    it = engine.events().__aiter__()
    await engine.start()
    events = await next_event(engine, it, p.ApprovalRequested)
    asked = events[-1]
    assert (asked.call_id, asked.name, asked.arguments) == ("w1", "write_file", write.arguments)
    assert any(isinstance(e, p.Warning) and e.kind == "resume" for e in events)
    assert server.requests == []  # the model was not asked again
    await engine.submit(p.ApprovalReply("w1", "once"))
    end = (await next_event(engine, it, p.ToolCallEnd))[-1]
    assert end.status == "done" and (workspace / "out.txt").read_text() == "hello\n"
    await engine.submit(p.UserTurn("thanks"))
    await next_event(engine, it, p.TurnComplete)
    await engine.submit(p.Shutdown())
    assert sent(server) == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "w1"),
        ("user", None),
    ]
    assert server.rejections == []
    roles = [m.message.role for m in store.load_messages(rec.id)]
    assert roles == ["user", "assistant", "tool", "user", "assistant"]


async def test_interactive_user_can_deny_the_offered_call(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    rec = crashed_session(
        store, workspace, (tc("t1", "terminal", command="touch made"),), {"t1": "pending_approval"}
    )
    server.add(ScriptedReply(text="ok, not running it"))
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True, resume=rec
    )
    it = engine.events().__aiter__()
    await engine.start()
    await next_event(engine, it, p.ApprovalRequested)
    await engine.submit(p.UserTurn("no, leave it"))  # typed while the approval is open: queued
    await engine.submit(p.ApprovalReply("t1", "deny"))
    await next_event(engine, it, p.TurnComplete)
    await engine.submit(p.Shutdown())
    assert not (workspace / "made").exists()
    msgs = server.requests[-1].messages
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool", "user"]
    assert msgs[3]["content"] == "denied by the user" and msgs[4]["content"] == "no, leave it"


@pytest.mark.parametrize(("mode", "runs"), [("ask", False), ("yolo", True)])
async def test_headless_resume_decides_never_started_calls_by_policy_before_the_prompt(
    mode: str, runs: bool, server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("alpha\n")
    calls = (
        tc("r1", "read_file", path="a.txt"),
        tc("t1", "terminal", command="touch made"),
        tc("r2", "read_file", path="a.txt"),
    )
    rec = crashed_session(store, workspace, calls, {"r2": "done"})
    server.add(ScriptedReply(text="carrying on"))
    cfg = make_config(server.base_url, workspace, approval_mode=mode)
    events = await run_prompt(make_engine(cfg, workspace, store, resume=rec), "continue")
    assert (workspace / "made").exists() is runs
    assert of_type(events, p.TurnComplete)[0].text == "carrying on"
    msgs = server.requests[0].messages
    assert [(m["role"], m.get("tool_call_id")) for m in msgs] == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "r1"),
        ("tool", "t1"),
        ("tool", "r2"),
        ("user", None),
    ]
    assert "alpha" in msgs[3]["content"]
    assert ("needs approval" in msgs[4]["content"]) is not runs
    assert server.rejections == []


async def test_a_running_call_gets_an_interrupted_result_and_is_not_rerun(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    calls = (tc("t1", "terminal", command="echo x >> log"),)
    rec = crashed_session(store, workspace, calls, {"t1": "running"})
    server.add(ScriptedReply(text="I will check the log first."))
    cfg = make_config(server.base_url, workspace, approval_mode="yolo")
    events = await run_prompt(make_engine(cfg, workspace, store, resume=rec), "what happened?")
    assert not (workspace / "log").exists()
    replayed = [e for e in of_type(events, p.ToolCallEnd) if e.replay]
    assert [(e.call_id, e.status) for e in replayed] == [("t1", "interrupted")]
    assert "effects are unknown" in of_type(events, p.Warning)[0].message
    msgs = server.requests[0].messages
    assert msgs[3] == {"role": "tool", "tool_call_id": "t1", "content": INTERRUPTED_RESULT}
    stored = store.load_messages(rec.id)
    assert stored[2].synthetic and stored[2].message.tool_call_id == "t1"


async def test_a_call_whose_secret_was_redacted_is_not_run_with_the_placeholder(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    key = "sk-" + "Q9w8" * 12
    rec = crashed_session(
        store, workspace, (tc("t1", "terminal", command=f"echo {key} > k"),), {"t1": "requested"}
    )
    server.add(ScriptedReply(text="ok"))
    cfg = make_config(server.base_url, workspace, approval_mode="yolo")
    await run_prompt(make_engine(cfg, workspace, store, resume=rec), "go on")
    assert not (workspace / "k").exists()
    assert server.requests[0].messages[3]["content"] == NOT_RERUN_SECRET


async def test_a_reply_cut_off_by_a_crash_is_kept_marked_interrupted(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    rec = store.create_session(str(workspace), "scripted-model", "ask")
    store.append_message(rec.id, Message("user", "explain"))
    store.save_draft(rec.id, "The answer begins with")
    server.add(ScriptedReply(text="Continuing."))
    cfg = make_config(server.base_url, workspace)
    events = await run_prompt(
        make_engine(cfg, workspace, store, resume=store.get_session(rec.id)), "go on"
    )
    replayed = [e for e in of_type(events, p.AssistantMessage) if e.replay]
    assert replayed == [p.AssistantMessage("The answer begins with", interrupted=True, replay=True)]
    msgs = server.requests[0].messages
    assert msgs[2] == {"role": "assistant", "content": "The answer begins with"}
    assert store.load_messages(rec.id)[1].interrupted


async def test_the_streamed_text_is_saved_as_a_draft_while_it_streams(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(
        ScriptedReply(
            text="one two three four five six", chunk_size=4, stall_after_chunks=3, stall_seconds=30
        )
    )
    engine = make_engine(
        make_config(server.base_url, workspace), workspace, store, interactive=True
    )
    it = engine.events().__aiter__()
    await engine.start()
    await engine.submit(p.UserTurn("count"))
    assert await asyncio.to_thread(server.wait_for_stall)
    sid = engine.state.id

    def draft() -> str | None:
        row = store.read("SELECT content FROM drafts WHERE session_id = ?", (sid,))
        return row[0][0] if row else None

    # Chunks: the role, "one ", "two ", then the stall. The handshake: the draft catches
    # up with what was streamed within DRAFT_INTERVAL.
    for _ in range(200):
        if draft() == "one two ":
            break
        await asyncio.sleep(0.05)
    assert draft() == "one two "
    await engine.submit(p.Interrupt())
    await next_event(engine, it, p.TurnAborted)
    await engine.submit(p.Shutdown())
    assert draft() is None
    last = store.load_messages(sid)[-1]
    assert last.interrupted and last.message.content == "one two "


async def test_failed_commit_of_the_tool_call_reply_stops_before_the_tool_runs(
    server: ScriptedServer, store: FaultyStore, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall("terminal", '{"command": "touch made"}', "t1"),)),
        ScriptedReply(text="second answer"),
    )
    store.fail_when = lambda m: bool(m.tool_calls)
    cfg = make_config(server.base_url, workspace, approval_mode="yolo")
    engine = make_engine(cfg, workspace, store)
    it = engine.events().__aiter__()
    await engine.start()
    events = await one_turn(engine, it, "make it")
    assert not (workspace / "made").exists()
    assert of_type(events, p.ToolCallBegin) == []
    error = of_type(events, p.Error)[0].message
    assert "could not be saved" in error and str(store.path) in error and "readonly" in error
    assert of_type(events, p.TurnAborted) == [p.TurnAborted("store error")]
    # Saving works again: the next turn goes on from what the database holds.
    events = await one_turn(engine, it, "try again")
    await engine.submit(p.Shutdown())
    assert of_type(events, p.TurnComplete)[0].text == "second answer"
    assert sent(server) == [("system", None), ("user", None), ("user", None)]
    assert server.rejections == []


async def test_failed_commit_of_a_result_stops_the_next_tool_and_resume_settles_both(
    server: ScriptedServer, store: FaultyStore, workspace: Path
) -> None:
    server.add(
        ScriptedReply(
            tool_calls=(
                ScriptedCall("terminal", '{"command": "touch one"}', "t1"),
                ScriptedCall("terminal", '{"command": "touch two"}', "t2"),
            )
        ),
        ScriptedReply(text="done now"),
    )
    store.fail_when = lambda m: m.tool_call_id == "t1"
    cfg = make_config(server.base_url, workspace, approval_mode="yolo")
    engine = make_engine(cfg, workspace, store)
    it = engine.events().__aiter__()
    await engine.start()
    events = await one_turn(engine, it, "make both")
    assert (workspace / "one").exists() and not (workspace / "two").exists()
    assert "could not be saved" in of_type(events, p.Error)[0].message
    assert of_type(events, p.TurnAborted) == [p.TurnAborted("store error")]
    states = store.call_states(engine.state.id)
    assert (states["t1"].status, states["t2"].status) == ("running", "cancelled")
    # Next turn: t1's result was lost (effects unknown); t2 was reported as not run.
    await one_turn(engine, it, "continue")
    await engine.submit(p.Shutdown())
    assert not (workspace / "two").exists()
    msgs = server.requests[-1].messages
    assert [(m["role"], m.get("tool_call_id")) for m in msgs] == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "t1"),
        ("tool", "t2"),
        ("user", None),
    ]
    assert msgs[3]["content"] == INTERRUPTED_RESULT
    assert msgs[4]["content"].startswith("[not run: the turn stopped: ")
    assert "readonly database" in msgs[4]["content"]
    assert server.rejections == []


def test_resume_restores_workspace_model_and_approval_mode(
    server: ScriptedServer, tmp_path: Path, hermes_home: Path
) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    server.add(
        ScriptedReply(text="first"),
        ScriptedReply(tool_calls=(ScriptedCall("terminal", '{"command": "touch here"}', "t1"),)),
        ScriptedReply(text="made it"),
    )
    first = _hermes(
        "-p",
        "hi",
        "--base-url",
        server.base_url,
        "--model",
        "model-a",
        "--approval-mode",
        "yolo",
        "--output-format",
        "json",
        cwd=project,
        home=hermes_home,
    )
    assert first.returncode == 0, first.stderr
    sid = json.loads(first.stdout)["session_id"]
    # From another directory, with no flags: the session's workspace, model and mode.
    again = _hermes(
        "-p",
        "make a file",
        "--resume",
        sid[:8],
        "--base-url",
        server.base_url,
        cwd=elsewhere,
        home=hermes_home,
    )
    assert again.returncode == 0, again.stderr
    assert (project / "here").exists() and not (elsewhere / "here").exists()
    assert {r.body["model"] for r in server.requests} == {"model-a"}
    # --continue finds it from the project directory only.
    assert (
        _hermes(
            "-p", "x", "--continue", "--base-url", server.base_url, cwd=elsewhere, home=hermes_home
        ).returncode
        == 2
    )


def test_resume_warns_when_the_workspace_moved(
    server: ScriptedServer, tmp_path: Path, hermes_home: Path
) -> None:
    project, moved = tmp_path / "project", tmp_path / "moved"
    project.mkdir()
    server.add(ScriptedReply(text="one"), ScriptedReply(text="two"))
    first = _hermes(
        "-p",
        "hi",
        "--base-url",
        server.base_url,
        "--output-format",
        "json",
        cwd=project,
        home=hermes_home,
    )
    sid = json.loads(first.stdout)["session_id"]
    project.rename(moved)
    again = _hermes(
        "-p",
        "still there?",
        "--resume",
        sid,
        "--base-url",
        server.base_url,
        cwd=moved,
        home=hermes_home,
    )
    assert again.returncode == 0, again.stderr
    assert f"the session's workspace {project} no longer exists; using {moved}" in again.stderr
    assert [m["content"] for m in server.requests[-1].messages[1:]] == ["hi", "one", "still there?"]


def test_resume_from_elsewhere_uses_the_projects_own_config(
    server: ScriptedServer, tmp_path: Path, hermes_home: Path
) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    for d in (project, elsewhere):
        (d / ".hermes").mkdir(parents=True)
    (project / ".hermes" / "config.yaml").write_text("approvals:\n  deny: [terminal]\n")
    (elsewhere / ".hermes" / "config.yaml").write_text("approvals:\n  allow: [terminal]\n")
    server.add(
        ScriptedReply(text="hello"),
        ScriptedReply(tool_calls=(ScriptedCall("terminal", '{"command": "touch x"}', "t1"),)),
        ScriptedReply(text="denied, fine"),
    )
    first = _hermes(
        "-p",
        "hi",
        "--base-url",
        server.base_url,
        "--output-format",
        "json",
        cwd=project,
        home=hermes_home,
    )
    sid = json.loads(first.stdout)["session_id"]
    _hermes(
        "-p",
        "run it",
        "--resume",
        sid,
        "--base-url",
        server.base_url,
        cwd=elsewhere,
        home=hermes_home,
    )
    assert not (project / "x").exists() and not (elsewhere / "x").exists()
    assert "denied" in server.requests[-1].messages[-1]["content"]


def test_continue_finds_a_session_whose_workspace_moved(
    server: ScriptedServer, tmp_path: Path, hermes_home: Path
) -> None:
    project, moved = tmp_path / "project", tmp_path / "moved"
    project.mkdir()
    server.add(ScriptedReply(text="one"), ScriptedReply(text="two"), ScriptedReply(text="three"))
    sid = json.loads(
        _hermes(
            "-p",
            "a",
            "--base-url",
            server.base_url,
            "--output-format",
            "json",
            cwd=project,
            home=hermes_home,
        ).stdout
    )["session_id"]
    project.rename(moved)
    assert (
        _hermes(
            "-p", "b", "--resume", sid, "--base-url", server.base_url, cwd=moved, home=hermes_home
        ).returncode
        == 0
    )
    cont = _hermes(
        "-p",
        "c",
        "--continue",
        "--base-url",
        server.base_url,
        "--output-format",
        "json",
        cwd=moved,
        home=hermes_home,
    )
    assert cont.returncode == 0, cont.stderr
    assert json.loads(cont.stdout)["session_id"] == sid
