"""Checkpoints, /undo, /redo, /rewind and /diff in a live engine: real files, real git,
real bash, the scripted model server and a real SQLite store."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from hermes import protocol as p
from hermes.checkpoints import ops
from hermes.checkpoints import records as cs
from hermes.checkpoints.shadow import shadow_dir
from hermes.engine import checkpoint_hooks
from hermes.engine.engine import Engine
from hermes.engine.view import rebuild_view
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import make_config, make_engine


def call(name: str, cid: str, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


def tools(*calls: ScriptedCall) -> ScriptedReply:
    return ScriptedReply(tool_calls=calls)


class Driver:
    """One live engine; turns and ops run to their final event."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: asyncio.Queue[p.Event] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _collect(self) -> None:
        async for ev in self.engine.events():
            await self._queue.put(ev)

    async def until(self, done: Callable[[p.Event], bool], seconds: float = 30) -> list[p.Event]:
        seen: list[p.Event] = []

        async def wait() -> None:
            while True:
                seen.append(await self._queue.get())
                if done(seen[-1]):
                    return

        await asyncio.wait_for(wait(), seconds)
        return seen

    async def turn(self, text: str) -> list[p.Event]:
        await self.engine.submit(p.UserTurn(text))
        seen = await self.until(lambda e: isinstance(e, p.TurnComplete | p.TurnAborted))
        await self.engine.wait_idle()  # what the agent left is recorded after the last event
        return seen

    async def op(self, op: p.Op) -> list[p.Event]:
        """Submit an op; events up to its outcome, a conflict question, or a warning."""
        await self.engine.submit(op)
        return await self.until(
            lambda e: isinstance(e, p.UndoDone | p.RewindDone | p.ConflictFound | p.Warning)
        )

    @property
    def sid(self) -> str:
        return self.engine.state.id


def only(events: list[p.Event], cls: type) -> Any:
    found = [e for e in events if isinstance(e, cls)]
    assert len(found) == 1, events
    return found[0]


@pytest.fixture
async def drive(
    server: ScriptedServer, store: Store, workspace: Path
) -> AsyncIterator[Callable[..., Any]]:
    drivers: list[Driver] = []

    async def open_driver(*, interactive: bool = True, raw: dict[str, Any] | None = None) -> Driver:
        cfg = make_config(server.base_url, workspace, raw, approval_mode="yolo")
        driver = Driver(make_engine(cfg, workspace, store, interactive=interactive))
        driver._task = asyncio.create_task(driver._collect())
        await driver.engine.start()
        drivers.append(driver)
        return driver

    yield open_driver
    for d in drivers:
        await d.engine.submit(p.Shutdown())
        if d._task is not None:
            await asyncio.wait_for(d._task, 10)


def files(ws: Path) -> dict[str, str]:
    """Every file under ``ws`` (outside .git) with its text."""
    out = {}
    for path in sorted(ws.rglob("*")):
        rel = path.relative_to(ws).as_posix()
        if path.is_file() and not rel.startswith(".git/"):
            out[rel] = path.read_text()
    return out


# ---------------------------------------------------------------------------- undo / redo


async def test_undo_and_redo_of_write_file_and_patch(
    drive: Callable[..., Any], server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("one\ntwo\n")
    server.add(
        tools(call("write_file", "w1", path="new.txt", content="hello\n")),
        tools(call("patch", "p1", path="a.txt", old_string="two", new_string="TWO")),
        ScriptedReply(text="done"),
    )
    d = await drive()
    await d.turn("edit things")
    after = {"a.txt": "one\nTWO\n", "new.txt": "hello\n"}
    assert files(workspace) == after

    rows = cs.checkpoints(store, d.sid, 1)
    assert [(r.kind, r.call_id, r.paths) for r in rows] == [
        ("write", "w1", ("new.txt",)),
        ("write", "p1", ("a.txt",)),
        ("post", "", ("a.txt", "new.txt")),
    ]

    done = only(await d.op(p.Undo()), p.UndoDone)
    assert done == p.UndoDone(turns=(1,), files_restored=("a.txt", "new.txt"), note="")
    assert files(workspace) == {"a.txt": "one\ntwo\n"}

    redone = only(await d.op(p.Redo()), p.UndoDone)
    assert redone.redo and redone.files_restored == ("a.txt", "new.txt")
    assert files(workspace) == after

    await d.op(p.Undo())
    assert files(workspace) == {"a.txt": "one\ntwo\n"}
    warning = only(await d.op(p.Undo()), p.Warning)
    assert warning.message == "nothing to undo"
    # The model is told, so it does not build on edits that are gone.
    notes = [m.message.content or "" for m in store.load_messages(d.sid)]
    assert sum("the user undid the file changes of turn 1" in n for n in notes) == 2
    assert any("the user redid" in n for n in notes)


async def test_repeated_undo_walks_back_turn_by_turn_and_redo_forward(
    drive: Callable[..., Any], server: ScriptedServer, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("v0\n")
    server.add(
        tools(call("write_file", "w1", path="a.txt", content="v1\n")),
        ScriptedReply(text="1"),
        tools(
            call("write_file", "w2", path="a.txt", content="v2\n"),
            call("write_file", "w3", path="b.txt", content="b\n"),
        ),
        ScriptedReply(text="2"),
        ScriptedReply(text="just talking"),
        tools(call("write_file", "w4", path="a.txt", content="v3\n")),
        ScriptedReply(text="3"),
    )
    d = await drive()
    for prompt in ("one", "two", "chat", "three"):
        await d.turn(prompt)
    assert files(workspace) == {"a.txt": "v3\n", "b.txt": "b\n"}

    assert only(await d.op(p.Undo()), p.UndoDone).turns == (4,)
    assert files(workspace) == {"a.txt": "v2\n", "b.txt": "b\n"}
    assert only(await d.op(p.Undo()), p.UndoDone).turns == (2,)  # turn 3 changed nothing
    assert files(workspace) == {"a.txt": "v1\n"}
    assert only(await d.op(p.Redo()), p.UndoDone).turns == (2,)
    assert files(workspace) == {"a.txt": "v2\n", "b.txt": "b\n"}
    assert only(await d.op(p.Redo()), p.UndoDone).turns == (4,)
    assert files(workspace) == {"a.txt": "v3\n", "b.txt": "b\n"}
    assert only(await d.op(p.Redo()), p.Warning).message == "nothing to redo"
    done = only(await d.op(p.Undo(turns=3)), p.UndoDone)
    assert done.turns == (4, 2, 1)
    assert files(workspace) == {"a.txt": "v0\n"}


async def test_undo_of_a_command_that_created_modified_and_deleted_files(
    drive: Callable[..., Any], server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "keep.txt").write_text("keep\n")
    (workspace / "mod.txt").write_text("original\n")
    (workspace / "gone.txt").write_text("delete me\n")
    (workspace / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (workspace / "run.sh").chmod(0o755)
    before = files(workspace)
    command = (
        "echo created > new.txt && echo changed > mod.txt && rm gone.txt && "
        "mkdir -p deep/er && echo x > deep/er/f.txt && chmod -x run.sh"
    )
    server.add(tools(call("terminal", "t1", command=command)), ScriptedReply(text="ok"))
    d = await drive()
    await d.turn("shell it")
    assert set(files(workspace)) == {"keep.txt", "mod.txt", "new.txt", "deep/er/f.txt", "run.sh"}

    rows = cs.checkpoints(store, d.sid, 1)
    assert [(r.kind, r.call_id, r.paths) for r in rows] == [
        ("exec", "t1", None),
        ("post", "", None),
    ]

    done = only(await d.op(p.Undo()), p.UndoDone)
    assert done.files_restored == ("deep/er/f.txt", "gone.txt", "mod.txt", "new.txt", "run.sh")
    assert done.note == ops.COMMAND_NOTE
    assert "installed packages, are not undone" in done.note
    assert files(workspace) == before
    assert not (workspace / "deep").exists()  # directories it left empty go too
    assert os.access(workspace / "run.sh", os.X_OK)


# ---------------------------------------------------------------------------- conflicts


@pytest.mark.parametrize("choice", ["keep_mine", "take_checkpoint", "skip"])
async def test_a_file_the_user_edited_after_the_agent_is_a_conflict(
    choice: p.ConflictChoice,
    drive: Callable[..., Any],
    server: ScriptedServer,
    store: Store,
    workspace: Path,
) -> None:
    (workspace / "a.txt").write_text("base\n")
    (workspace / "b.txt").write_text("b base\n")
    server.add(
        tools(
            call("write_file", "w1", path="a.txt", content="agent\n"),
            call("write_file", "w2", path="b.txt", content="b agent\n"),
        ),
        ScriptedReply(text="ok"),
    )
    d = await drive()
    await d.turn("edit")
    (workspace / "a.txt").write_text("agent\nmine too\n")  # the user edits after the agent

    conflict = only(await d.op(p.Undo()), p.ConflictFound)
    assert (conflict.path, conflict.turn, conflict.operation) == ("a.txt", 1, "undo")
    assert "changed since the agent left it" in conflict.reason
    assert "+mine too" in conflict.user_diff
    assert "-mine too" in conflict.restore_diff and "+base" in conflict.restore_diff
    assert (workspace / "b.txt").read_text() == "b agent\n"  # nothing written while asking

    await d.engine.submit(p.ConflictReply("a.txt", choice))
    done = only(await d.until(lambda e: isinstance(e, p.UndoDone)), p.UndoDone)
    assert (workspace / "b.txt").read_text() == "b base\n"
    if choice == "take_checkpoint":
        assert done.files_restored == ("a.txt", "b.txt") and done.files_skipped == ()
        assert (workspace / "a.txt").read_text() == "base\n"
        # The user's version was recorded before it was overwritten.
        backup = [r for r in cs.checkpoints(store, d.sid, 1) if r.kind == "undo"][-1]
        repo = checkpoint_hooks.tracker(d.engine.state).repo
        assert repo is not None
        entry = repo.objects.lookup(repo.tree_of(backup.commit), "a.txt")
        assert entry is not None and repo.objects.read_blob(entry.sha) == b"agent\nmine too\n"
    else:
        assert done.files_restored == ("b.txt",) and done.files_skipped == ("a.txt",)
        assert (workspace / "a.txt").read_text() == "agent\nmine too\n"
        why = "kept your version" if choice == "keep_mine" else "changed since the agent"
        assert why in done.details[0]


async def test_headless_undo_skips_conflicts_without_asking(
    drive: Callable[..., Any], server: ScriptedServer, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("base\n")
    server.add(
        tools(call("write_file", "w1", path="a.txt", content="agent\n")), ScriptedReply(text="ok")
    )
    d = await drive(interactive=False)
    await d.turn("edit")
    (workspace / "a.txt").unlink()  # deleted by the user since
    events = await d.op(p.Undo())
    assert not any(isinstance(e, p.ConflictFound) for e in events)
    done = only(events, p.UndoDone)
    assert done.files_skipped == ("a.txt",) and "deleted since" in done.details[0]
    assert not (workspace / "a.txt").exists()


# ---------------------------------------------------------------------------- rewind


@pytest.mark.parametrize(
    ("files_too", "conversation"), [(True, False), (False, True), (True, True)]
)
async def test_rewind(
    files_too: bool,
    conversation: bool,
    drive: Callable[..., Any],
    server: ScriptedServer,
    store: Store,
    workspace: Path,
) -> None:
    (workspace / "a.txt").write_text("0\n")
    server.add(
        tools(call("write_file", "w1", path="a.txt", content="1\n")),
        ScriptedReply(text="first done"),
        tools(
            call("write_file", "w2", path="a.txt", content="2\n"),
            call("terminal", "t2", command="echo b > b.txt"),
        ),
        ScriptedReply(text="second done"),
        tools(call("write_file", "w3", path="a.txt", content="3\n")),
        ScriptedReply(text="third done"),
        ScriptedReply(text="fourth"),
    )
    d = await drive()
    for prompt in ("first prompt", "second prompt", "third prompt"):
        await d.turn(prompt)
    turns = await checkpoint_hooks.list_turns(d.engine.state)
    assert [(t.turn, t.prompt, t.files) for t in turns] == [
        (1, "first prompt", ("a.txt",)),
        (2, "second prompt", ("a.txt", "b.txt")),
        (3, "third prompt", ("a.txt",)),
    ]
    assert turns[1].ran_commands and not turns[0].ran_commands

    done = only(await d.op(p.Rewind(2, files=files_too, conversation=conversation)), p.RewindDone)
    assert (done.turn, done.prompt, done.files, done.conversation) == (
        2, "second prompt", files_too, conversation,
    )  # fmt: skip
    if files_too:
        assert files(workspace) == {"a.txt": "1\n"}
        assert done.files_restored == ("a.txt", "b.txt")
    else:
        assert files(workspace) == {"a.txt": "3\n", "b.txt": "b\n"}
        assert done.files_restored == ()

    await d.turn("fourth prompt")
    sent = [m.get("content") or "" for m in server.requests[-1].messages]
    if conversation:
        assert "second prompt" not in sent and "third prompt" not in sent
        assert sent[-1] == "fourth prompt" and "first done" in sent
        stored = store.load_messages(d.sid)
        assert any(s.rewound and s.message.content == "third prompt" for s in stored)
        view = [m.content for m in rebuild_view(stored).messages]
        assert "second prompt" not in view and "fourth prompt" in view
        assert [t.rewound for t in cs.turns(store, d.sid)] == [False, True, True, False]
    else:
        assert "second prompt" in sent and "third prompt" in sent
        assert any("restored the files to how they were before turn 2" in s for s in sent)
    assert [t.turn for t in cs.turns(store, d.sid)] == [1, 2, 3, 4]


# ---------------------------------------------------------------------------- skipped files


async def test_ignored_and_oversized_files_are_skipped_and_listed(
    drive: Callable[..., Any], server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / ".gitignore").write_text("*.log\n.env\n")
    (workspace / ".env").write_text("TOKEN=hunter2-original\n")
    (workspace / "app.log").write_text("log 1\n")
    (workspace / "big.dat").write_text("x" * 2000)
    (workspace / "code.py").write_text("print(1)\n")
    server.add(
        tools(
            call("write_file", "w1", path=".env", content="TOKEN=hunter2-agent\n"),
            call("write_file", "w2", path="big.dat", content="y" * 3000),
            call(
                "terminal",
                "t1",
                command="echo 'log 2' >> app.log && echo 'print(2)' > code.py && echo z >> big.dat",
            ),
        ),
        ScriptedReply(text="ok"),
    )
    d = await drive(raw={"checkpoints": {"max_file_bytes": 1000}})
    await d.turn("go")

    rows = cs.checkpoints(store, d.sid, 1)
    by_call = {r.call_id: {s.path: s.reason for s in r.skipped} for r in rows}
    assert by_call["w1"] == {".env": "ignored"}
    assert "over size limit" in by_call["w2"]["big.dat"]
    assert by_call["t1"][".env"] == "ignored" and by_call["t1"]["app.log"] == "ignored"
    assert "over size limit" in by_call["t1"]["big.dat"]

    done = only(await d.op(p.Undo()), p.UndoDone)
    assert done.files_restored == ("code.py",)
    assert set(done.files_skipped) == {".env", "big.dat"}
    assert (workspace / "code.py").read_text() == "print(1)\n"
    assert (workspace / ".env").read_text() == "TOKEN=hunter2-agent\n"  # left as it is
    assert (workspace / "app.log").read_text() == "log 1\nlog 2\n"
    # An ignored file's content never reaches the checkpoint store.
    shadow = shadow_dir(Path(os.environ["HERMES_HOME"]), workspace)
    for obj in (shadow / "objects").rglob("*"):
        if obj.is_file() and len(obj.parent.name) == 2:
            assert b"hunter2" not in zlib.decompress(obj.read_bytes())


async def test_checkpoints_can_be_turned_off(
    drive: Callable[..., Any], server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(tools(call("write_file", "w1", path="a.txt", content="x")), ScriptedReply(text="ok"))
    d = await drive(raw={"checkpoints": {"enabled": False}})
    await d.turn("go")
    assert cs.checkpoints(store, d.sid) == []
    assert "checkpoints are off" in only(await d.op(p.Undo()), p.Warning).message
    assert not (Path(os.environ["HERMES_HOME"]) / "checkpoints").exists()


# ---------------------------------------------------------------------------- git workspace


def _git(ws: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="u", GIT_AUTHOR_EMAIL="u@x", GIT_COMMITTER_NAME="u",
        GIT_COMMITTER_EMAIL="u@x", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
        GIT_OPTIONAL_LOCKS="0",
    )  # fmt: skip
    run = subprocess.run(
        ["git", *args], cwd=ws, env=env, capture_output=True, text=True, check=True
    )
    return run.stdout


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


async def test_a_git_workspace_keeps_head_index_branches_and_stash(
    drive: Callable[..., Any], server: ScriptedServer, workspace: Path
) -> None:
    _git(workspace, "init", "-q", "-b", "main")
    (workspace / ".gitignore").write_text("*.tmp\n")
    (workspace / "a.txt").write_text("committed\n")
    _git(workspace, "add", ".")
    _git(workspace, "commit", "-q", "-m", "first")
    _git(workspace, "branch", "feature")
    (workspace / "a.txt").write_text("stashed\n")
    _git(workspace, "stash", "-q")
    (workspace / "a.txt").write_text("staged\n")
    _git(workspace, "add", "a.txt")
    (workspace / "a.txt").write_text("working\n")
    head = _git(workspace, "rev-parse", "HEAD")
    refs = _git(workspace, "for-each-ref")
    stash = _git(workspace, "stash", "list")
    status = _git(workspace, "status", "--porcelain")
    dot_git = _tree_digest(workspace / ".git")  # after our own reads, before hermes

    server.add(
        tools(
            call("write_file", "w1", path="a.txt", content="agent\n"),
            call("terminal", "t1", command="echo n > new.txt && echo t > x.tmp"),
        ),
        ScriptedReply(text="ok"),
    )
    d = await drive()
    await d.turn("go")
    assert (workspace / "a.txt").read_text() == "agent\n"
    assert _tree_digest(workspace / ".git") == dot_git
    done = only(await d.op(p.Undo()), p.UndoDone)
    assert done.files_restored == ("a.txt", "new.txt")
    await d.op(p.Redo())
    await d.op(p.Undo())
    assert (workspace / "a.txt").read_text() == "working\n"
    assert (workspace / "x.tmp").exists()  # ignored by the repo's .gitignore: not touched

    assert _tree_digest(workspace / ".git") == dot_git  # HEAD, index, refs, stash: same bytes
    assert _git(workspace, "rev-parse", "HEAD") == head
    assert _git(workspace, "for-each-ref") == refs
    assert _git(workspace, "stash", "list") == stash
    (workspace / "x.tmp").unlink()
    assert _git(workspace, "status", "--porcelain") == status
    assert _git(workspace, "show", ":a.txt") == "staged\n"
    shadow = shadow_dir(Path(os.environ["HERMES_HOME"]), workspace)
    assert shadow.is_dir() and not (workspace / ".git" / "hermes-index").exists()


# ---------------------------------------------------------------------------- diff


async def test_diff_of_the_session_and_of_one_turn(
    drive: Callable[..., Any], server: ScriptedServer, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("one\n")
    server.add(
        tools(call("write_file", "w1", path="a.txt", content="two\n")),
        ScriptedReply(text="1"),
        tools(call("write_file", "w2", path="b.txt", content="bee\n")),
        ScriptedReply(text="2"),
    )
    d = await drive()
    await d.turn("first")
    await d.turn("second")
    whole = await checkpoint_hooks.diff(d.engine.state)
    assert "--- a/a.txt\n+++ b/a.txt\n" in whole and "-one\n+two\n" in whole
    assert "--- /dev/null\n+++ b/b.txt\n" in whole and "+bee\n" in whole
    second = await checkpoint_hooks.diff(d.engine.state, 2)
    assert "a.txt" not in second and "+bee" in second
    await d.op(p.Undo())
    assert "b.txt" not in await checkpoint_hooks.diff(d.engine.state)  # undone turns drop out


# ---------------------------------------------------------------------------- engine timing


async def test_undo_right_after_the_last_event_waits_for_the_turns_record(
    drive: Callable[..., Any], server: ScriptedServer, workspace: Path
) -> None:
    server.add(
        tools(call("terminal", "t1", command="echo made > made.txt")), ScriptedReply(text="ok")
    )
    d = await drive()
    await d.engine.submit(p.UserTurn("go"))
    await d.until(lambda e: isinstance(e, p.TurnComplete))
    await d.engine.submit(p.Undo())  # no wait: the turn is still recording what it left
    done = only(await d.until(lambda e: isinstance(e, p.UndoDone | p.Warning)), p.UndoDone)
    assert done.files_restored == ("made.txt",)
    assert not (workspace / "made.txt").exists()


async def test_undo_is_refused_while_a_turn_runs_and_an_interrupted_turn_is_undoable(
    drive: Callable[..., Any], server: ScriptedServer, workspace: Path
) -> None:
    command = "echo started > s.txt && sleep 30"
    server.add(tools(call("terminal", "t1", command=command)), ScriptedReply(text="unused"))
    d = await drive()
    await d.engine.submit(p.UserTurn("go"))
    await d.until(lambda e: isinstance(e, p.ToolCallBegin))
    for _ in range(500):
        if (workspace / "s.txt").exists():
            break
        await asyncio.sleep(0.02)
    assert "a turn is running" in only(await d.op(p.Undo()), p.Warning).message
    await d.engine.submit(p.Interrupt())
    await d.until(lambda e: isinstance(e, p.TurnAborted))
    await d.engine.wait_idle()
    done = only(await d.op(p.Undo()), p.UndoDone)
    assert done.files_restored == ("s.txt",) and not (workspace / "s.txt").exists()
