"""``hermes sessions undo|redo|rewind|turns|diff`` and a kill -9 between checkpoint and
change, run as real ``hermes`` processes against the scripted server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hermes.checkpoints import records as cs
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.support import run_hermes as hermes


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
    env["HERMES_HOME"] = str(home)
    return env


def call(name: str, cid: str, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


def run_prompt(server: ScriptedServer, ws: Path, home: Path, prompt: str, *more: str) -> str:
    run = hermes(
        "-p", prompt, "--base-url", server.base_url, "--approval-mode", "yolo",
        "--output-format", "json", *more, cwd=ws, home=home,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return str(json.loads(run.stdout)["session_id"])


def test_headless_undo_redo_turns_and_diff(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    (workspace / "a.txt").write_text("zero\n")
    server.add(
        ScriptedReply(tool_calls=(call("write_file", "w1", path="a.txt", content="one\n"),)),
        ScriptedReply(text="1"),
        ScriptedReply(
            tool_calls=(call("terminal", "t1", command="echo two > a.txt; echo b > b.txt"),)
        ),
        ScriptedReply(text="2"),
    )
    sid = run_prompt(server, workspace, hermes_home, "first")
    assert run_prompt(server, workspace, hermes_home, "second", "--resume", sid) == sid

    turns = hermes("sessions", "turns", sid, "--json", cwd=workspace, home=hermes_home)
    assert turns.returncode == 0, turns.stderr
    listed = json.loads(turns.stdout)
    assert [(t["turn"], t["prompt"], t["files"]) for t in listed] == [
        (1, "first", ["a.txt"]),
        (2, "second", ["a.txt", "b.txt"]),
    ]  # turn numbers continue across resume

    diff = hermes("sessions", "diff", sid, "--turn", "2", cwd=workspace, home=hermes_home)
    assert "-one\n+two\n" in diff.stdout and "+++ b/b.txt" in diff.stdout

    undo = hermes("sessions", "undo", sid, cwd=workspace, home=hermes_home)
    assert undo.returncode == 0, undo.stderr
    assert "restored  a.txt" in undo.stdout and "not undone" in undo.stdout
    assert (workspace / "a.txt").read_text() == "one\n" and not (workspace / "b.txt").exists()

    redo = hermes("sessions", "redo", sid, "--json", cwd=workspace, home=hermes_home)
    assert redo.returncode == 0 and json.loads(redo.stdout)["files_restored"] == ["a.txt", "b.txt"]
    assert (workspace / "a.txt").read_text() == "two\n"

    undo = hermes("sessions", "undo", sid, "--turns", "2", cwd=workspace, home=hermes_home)
    assert undo.returncode == 0, undo.stderr
    assert (workspace / "a.txt").read_text() == "zero\n" and not (workspace / "b.txt").exists()
    nothing = hermes("sessions", "undo", sid, cwd=workspace, home=hermes_home)
    assert nothing.returncode == 1 and "nothing to undo" in nothing.stderr


def test_headless_undo_never_overwrites_a_users_edit(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    (workspace / "a.txt").write_text("base\n")
    (workspace / "b.txt").write_text("b base\n")
    server.add(
        ScriptedReply(
            tool_calls=(
                call("write_file", "w1", path="a.txt", content="agent\n"),
                call("write_file", "w2", path="b.txt", content="b agent\n"),
            )
        ),
        ScriptedReply(text="ok"),
    )
    sid = run_prompt(server, workspace, hermes_home, "edit")
    (workspace / "a.txt").write_text("agent\nand mine\n")
    undo = hermes("sessions", "undo", sid, "--json", cwd=workspace, home=hermes_home)
    assert undo.returncode == 1
    out = json.loads(undo.stdout)
    assert out["files_restored"] == ["b.txt"]
    assert out["files_skipped"] == [{"path": "a.txt", "reason": "changed since the agent left it"}]
    assert (workspace / "a.txt").read_text() == "agent\nand mine\n"
    assert (workspace / "b.txt").read_text() == "b base\n"


@pytest.mark.parametrize("mode", ["--files-only", "--conversation-only", None])
def test_headless_rewind(
    mode: str | None, server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("write_file", "w1", path="a.txt", content="1\n"),)),
        ScriptedReply(text="one"),
        ScriptedReply(tool_calls=(call("write_file", "w2", path="a.txt", content="2\n"),)),
        ScriptedReply(text="two"),
        ScriptedReply(text="three"),
    )
    sid = run_prompt(server, workspace, hermes_home, "first")
    run_prompt(server, workspace, hermes_home, "second", "--resume", sid)
    args = ["sessions", "rewind", sid, "--to", "2", "--json", *([mode] if mode else [])]
    rewind = hermes(*args, cwd=workspace, home=hermes_home)
    assert rewind.returncode == 0, rewind.stderr
    out = json.loads(rewind.stdout)
    assert out["prompt"] == "second"
    files_too, conversation = mode != "--conversation-only", mode != "--files-only"
    assert (workspace / "a.txt").read_text() == ("1\n" if files_too else "2\n")
    run_prompt(server, workspace, hermes_home, "third", "--resume", sid)
    sent = [m.get("content") or "" for m in server.requests[-1].messages]
    assert ("second" in sent) is not conversation
    assert sent[-1] == "third"
    bad = hermes("sessions", "rewind", sid, "--to", "99", cwd=workspace, home=hermes_home)
    assert bad.returncode == 2 and "no turn 99" in bad.stderr


def test_kill_9_between_checkpoint_and_change_then_undo(
    server: ScriptedServer, workspace: Path, hermes_home: Path, tmp_path: Path
) -> None:
    (workspace / "keep.txt").write_text("keep\n")
    (workspace / "mod.txt").write_text("original\n")
    (workspace / "gone.txt").write_text("bye\n")
    marker = tmp_path / "marker"
    command = (
        f"echo changed > mod.txt && rm gone.txt && echo new > new.txt && "
        f"echo $$ > {marker}.tmp && mv {marker}.tmp {marker} && exec sleep 60"
    )
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command=command),)),
        ScriptedReply(text="never reached"),
    )
    # --no-sandbox: the marker lies outside the workspace, $$ must be a host PID, and a
    # sandboxed command would die with hermes (bwrap --die-with-parent).
    proc = subprocess.Popen(
        [sys.executable, "-m", "hermes", "-p", "go", "--base-url", server.base_url,
         "--approval-mode", "yolo", "--no-sandbox"],
        cwd=workspace, env=_env(hermes_home), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    sleeper = None
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "hermes exited before the command ran"
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.02)
        sleeper = int(marker.read_text())
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        if sleeper is not None:
            try:
                os.killpg(sleeper, signal.SIGKILL)  # the command ran in its own group
            except ProcessLookupError:
                pass
    assert (workspace / "mod.txt").read_text() == "changed\n"

    store = Store(hermes_home / "hermes.db")
    try:
        (session,) = store.list_sessions()
        rows = cs.checkpoints(store, session.id)
    finally:
        store.close()
    assert [(r.kind, r.call_id, r.paths) for r in rows] == [("exec", "t1", None)]

    undo = hermes("sessions", "undo", session.id, cwd=workspace, home=hermes_home)
    assert undo.returncode == 0, undo.stdout + undo.stderr
    assert sorted(p.name for p in workspace.iterdir()) == ["gone.txt", "keep.txt", "mod.txt"]
    assert (workspace / "mod.txt").read_text() == "original\n"
    assert (workspace / "gone.txt").read_text() == "bye\n"
