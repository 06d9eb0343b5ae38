"""kill -9 at each phase of a turn, against real hermes processes and the scripted server.

Each test starts hermes in its own process group, waits for a handshake that proves the
process is exactly where the test wants it (the server's stall, a marker written by a
running command, or a pause point of ``tests/kill_probe.py``), sends SIGKILL to the
whole group, then checks that the database is intact, that everything produced before
the kill is there, and that resuming sends a history the scripted server accepts.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from hermes.engine.view import INTERRUPTED_RESULT
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply

PROBE = Path(__file__).parents[1] / "kill_probe.py"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
    env["HERMES_HOME"] = str(home)
    env.update(extra)
    return env


class Hermes:
    """A hermes process in its own process group; stdout lines arrive on a queue."""

    def __init__(
        self,
        args: list[str],
        *,
        home: Path,
        cwd: Path,
        probe: Sequence[str] = (),
        marker: Path | None = None,
    ) -> None:
        interactive = "--interactive" in probe
        self.proc = subprocess.Popen(
            [sys.executable, str(PROBE), *probe, "--", *args],
            cwd=cwd,
            env=_env(home, KILL_PROBE_MARKER=str(marker or "")),
            stdin=subprocess.PIPE if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, op: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(op) + "\n")
        self.proc.stdin.flush()

    def wait_event(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        """Read stream-json lines until an event of type ``kind``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {kind} event; stderr: {self.stderr()}") from None
            event = json.loads(line)
            if event["type"] == kind:
                return event  # type: ignore[no-any-return]

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def kill(self) -> None:
        """SIGKILL to the whole process group, as a crash or `kill -9` would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL


def wait_until(cond: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def hermes_run(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hermes", *args],
        cwd=cwd,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


class Db:
    """Read-only looks at the database after a kill."""

    def __init__(self, home: Path) -> None:
        self.path = home / "hermes.db"

    def q(self, sql: str, *params: object) -> list[Any]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def intact(self) -> None:
        assert self.q("PRAGMA integrity_check") == [("ok",)]

    def session(self) -> str:
        rows = self.q("SELECT id FROM sessions")
        assert len(rows) == 1
        return str(rows[0][0])

    def messages(self) -> list[tuple[str, str | None, str | None, int, int]]:
        return self.q(
            "SELECT role, content, tool_call_id, interrupted, synthetic FROM messages ORDER BY seq"
        )

    def status(self) -> dict[str, str]:
        return dict(self.q("SELECT call_id, status FROM tool_calls"))


def resume(
    server: ScriptedServer, sid: str, *, home: Path, cwd: Path, text: str = "continue"
) -> list[tuple[str, str | None]]:
    """Resume headless; assert the server accepted it; the (role, call id) pairs sent."""
    before = len(server.requests)
    run = hermes_run(
        "-p",
        text,
        "--resume",
        sid,
        "--base-url",
        server.base_url,
        "--output-format",
        "json",
        home=home,
        cwd=cwd,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["session_id"] == sid
    assert server.rejections == []
    assert len(server.requests) == before + 1
    return [(m["role"], m.get("tool_call_id")) for m in server.requests[-1].messages]


def test_kill_while_the_model_streams(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    text = "Here is the start of a long answer that never finishes"
    server.add(
        ScriptedReply(text=text, chunk_size=5, stall_after_chunks=4, stall_seconds=120),
        ScriptedReply(text="Resumed."),
    )
    h = Hermes(
        ["-p", "explain", "--base-url", server.base_url, "--output-format", "stream-json"],
        home=hermes_home,
        cwd=workspace,
    )
    assert server.wait_for_stall(timeout=30)
    db = Db(hermes_home)
    streamed = text[:15]  # the role chunk, then three 5-character chunks
    wait_until(lambda: db.q("SELECT content FROM drafts") == [(streamed,)], "the draft to catch up")
    h.kill()
    db.intact()
    assert db.messages() == [("user", "explain", None, 0, 0)]
    sent = resume(server, db.session(), home=hermes_home, cwd=workspace)
    assert sent == [("system", None), ("user", None), ("assistant", None), ("user", None)]
    assert server.requests[-1].messages[2]["content"] == streamed
    assert db.messages() == [
        ("user", "explain", None, 0, 0),
        ("assistant", streamed, None, 1, 0),
        ("user", "continue", None, 0, 0),
        ("assistant", "Resumed.", None, 0, 0),
    ]
    assert db.q("SELECT COUNT(*) FROM drafts") == [(0,)]


def test_kill_after_the_tool_calls_are_committed_before_dispatch(
    server: ScriptedServer, workspace: Path, hermes_home: Path, tmp_path: Path
) -> None:
    server.add(
        ScriptedReply(
            tool_calls=(
                ScriptedCall("write_file", '{"path": "out.txt", "content": "hi\\n"}', "w1"),
                ScriptedCall("terminal", '{"command": "touch made"}', "t1"),
            )
        ),
        ScriptedReply(text="Both done."),
    )
    marker = tmp_path / "reached"
    h = Hermes(
        ["-p", "make them", "--base-url", server.base_url, "--approval-mode", "yolo"],
        home=hermes_home,
        cwd=workspace,
        probe=["--pause", "dispatch"],
        marker=marker,
    )
    wait_until(marker.exists, "the dispatch pause point")
    h.kill()
    db = Db(hermes_home)
    db.intact()
    assert [m[0] for m in db.messages()] == ["user", "assistant"]
    assert db.status() == {"w1": "requested", "t1": "requested"}
    assert not (workspace / "out.txt").exists() and not (workspace / "made").exists()
    # The calls never started: resume runs them exactly as asked (the session's yolo mode
    # decides, like any headless run), before the new prompt.
    sent = resume(server, db.session(), home=hermes_home, cwd=workspace)
    assert sent == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "w1"),
        ("tool", "t1"),
        ("user", None),
    ]
    assert (workspace / "out.txt").read_text() == "hi\n" and (workspace / "made").exists()
    assert db.status() == {"w1": "done", "t1": "done"}


def test_kill_in_the_middle_of_a_running_command(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    command = "echo $$ > cmd.pid; touch started; sleep 60; touch finished"
    server.add(
        ScriptedReply(
            tool_calls=(
                ScriptedCall("terminal", json.dumps({"command": command}), "t1"),
                ScriptedCall("write_file", '{"path": "after.txt", "content": "x"}', "w2"),
            )
        ),
        ScriptedReply(text="I will check whether it finished."),
    )
    h = Hermes(
        ["-p", "run it", "--base-url", server.base_url, "--approval-mode", "yolo"],
        home=hermes_home,
        cwd=workspace,
    )
    try:
        wait_until(lambda: (workspace / "started").exists(), "the command to start")
        h.kill()
    finally:
        wait_until(lambda: (workspace / "cmd.pid").exists(), "the command's pid")
        with contextlib.suppress(ProcessLookupError):  # the command has its own group
            os.killpg(int((workspace / "cmd.pid").read_text()), signal.SIGKILL)
    db = Db(hermes_home)
    db.intact()
    assert db.status() == {"t1": "running", "w2": "requested"}
    sent = resume(server, db.session(), home=hermes_home, cwd=workspace)
    assert sent == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "t1"),
        ("tool", "w2"),
        ("user", None),
    ]
    results = server.requests[-1].messages
    assert results[3]["content"] == INTERRUPTED_RESULT  # effects unknown: not run again
    assert (workspace / "after.txt").read_text() == "x"  # never started: run as asked
    assert not (workspace / "finished").exists()
    assert [m[4] for m in db.messages() if m[0] == "tool"] == [1, 0]


def test_kill_between_parallel_reads(
    server: ScriptedServer, workspace: Path, hermes_home: Path, tmp_path: Path
) -> None:
    for name in "abc":
        (workspace / f"{name}.txt").write_text(f"content of {name}\n")
    server.add(
        ScriptedReply(
            tool_calls=tuple(
                ScriptedCall("read_file", json.dumps({"path": f"{n}.txt"}), f"r{n}") for n in "abc"
            )
        ),
        ScriptedReply(text="Read them."),
    )
    marker = tmp_path / "reached"
    h = Hermes(
        ["-p", "read all", "--base-url", server.base_url],
        home=hermes_home,
        cwd=workspace,
        probe=["--pause", "result:rb"],
        marker=marker,
    )
    db = Db(hermes_home)
    wait_until(marker.exists, "rb's result to be held back")
    wait_until(
        lambda: len([m for m in db.messages() if m[0] == "tool"]) == 2, "ra and rc to commit"
    )
    h.kill()
    db.intact()
    # rb's read ran but its result was never committed. A read has no effects and costs
    # no "running" commit, so it is still "requested": resume simply reads again.
    assert db.status() == {"ra": "done", "rb": "requested", "rc": "done"}
    kept = {m[2]: m[1] for m in db.messages() if m[0] == "tool"}
    assert (
        set(kept) == {"ra", "rc"} and "content of a" in kept["ra"] and "content of c" in kept["rc"]
    )
    sent = resume(server, db.session(), home=hermes_home, cwd=workspace)
    assert sent == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "ra"),
        ("tool", "rb"),
        ("tool", "rc"),
        ("user", None),
    ]
    msgs = server.requests[-1].messages
    assert "content of a" in msgs[3]["content"] and "content of c" in msgs[5]["content"]
    assert "content of b" in msgs[4]["content"]


@pytest.mark.parametrize("resume_as", ["interactive", "headless"])
def test_kill_while_an_approval_is_pending(
    resume_as: str, server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    args = '{"command": "touch approved"}'
    server.add(
        ScriptedReply(text="Running it.", tool_calls=(ScriptedCall("terminal", args, "t1"),)),
        ScriptedReply(text="Finished."),
    )
    h = Hermes(
        ["--base-url", server.base_url], home=hermes_home, cwd=workspace, probe=["--interactive"]
    )
    h.send({"type": "UserTurn", "text": "make the file"})
    asked = h.wait_event("ApprovalRequested")
    assert (asked["call_id"], asked["arguments"]) == ("t1", args)
    h.kill()
    db = Db(hermes_home)
    db.intact()
    assert db.status() == {"t1": "pending_approval"}
    assert [m[:2] for m in db.messages()] == [
        ("user", "make the file"),
        ("assistant", "Running it."),
    ]
    sid = db.session()
    requests_before = len(server.requests)
    if resume_as == "headless":  # decided by policy (ask mode: denied, the model is told)
        sent = resume(server, sid, home=hermes_home, cwd=workspace)
        assert sent[3:] == [("tool", "t1"), ("user", None)]
        assert "needs approval" in server.requests[-1].messages[3]["content"]
        assert not (workspace / "approved").exists()
        return
    h2 = Hermes(
        ["--base-url", server.base_url, "--resume", sid],
        home=hermes_home,
        cwd=workspace,
        probe=["--interactive"],
    )
    again = h2.wait_event("ApprovalRequested")
    assert (again["call_id"], again["name"], again["arguments"]) == ("t1", "terminal", args)
    assert len(server.requests) == requests_before  # the model was not asked again
    h2.send({"type": "ApprovalReply", "call_id": "t1", "decision": "once"})
    assert h2.wait_event("ToolCallEnd")["status"] == "done"
    assert (workspace / "approved").exists()
    h2.send({"type": "UserTurn", "text": "thanks"})
    assert h2.wait_event("TurnComplete")["text"] == "Finished."
    assert h2.proc.stdin is not None
    h2.proc.stdin.close()
    assert h2.proc.wait(timeout=30) == 0
    sent = [(m["role"], m.get("tool_call_id")) for m in server.requests[-1].messages]
    assert sent == [
        ("system", None),
        ("user", None),
        ("assistant", None),
        ("tool", "t1"),
        ("user", None),
    ]
    assert server.rejections == []


def test_kill_during_compaction(server: ScriptedServer, workspace: Path, hermes_home: Path) -> None:
    from hermes.messages import Message
    from hermes.store.sessions import Store

    store = Store(hermes_home / "hermes.db")
    rec = store.create_session(str(workspace), "scripted-model", "ask", title="long")
    for i in range(8):
        store.append_message(
            rec.id, Message("user", f"question {i}: " + "why is the sky blue? " * 40)
        )
        store.append_message(
            rec.id, Message("assistant", f"answer {i}: " + "Rayleigh scattering. " * 40)
        )
    store.close()
    (hermes_home / "config.yaml").write_text("compaction:\n  keep_recent_tokens: 300\n")
    server.add(
        ScriptedReply(
            text="Summary: the user asked about the sky " * 5,
            stall_after_chunks=3,
            stall_seconds=120,
        ),
        ScriptedReply(text="Still here."),
    )
    h = Hermes(
        ["--base-url", server.base_url, "--resume", rec.id],
        home=hermes_home,
        cwd=workspace,
        probe=["--interactive"],
    )
    h.wait_event("SessionStarted")
    h.send({"type": "Compact"})
    assert server.wait_for_stall(timeout=30)  # the summary is being written
    h.kill()
    db = Db(hermes_home)
    db.intact()
    assert db.q("SELECT COUNT(*), SUM(folded) FROM messages") == [(16, 0)]  # nothing dropped
    sent = resume(server, rec.id, home=hermes_home, cwd=workspace)
    assert len(sent) == 1 + 16 + 1  # the whole conversation, then the new prompt
    assert server.requests[-1].messages[1]["content"].startswith("question 0")
