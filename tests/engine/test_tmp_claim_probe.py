"""At most once: several real hermes processes resuming one crashed session run a call
that never started exactly once (issue 15, finding 8).

The crashed state is made as tests/engine/test_kill.py makes it: a real hermes paused by
``tests/kill_probe.py`` right before its first call is claimed, then killed with
SIGKILL. The call appends a line to a file, so the file says how often it ran.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.engine.test_kill import PROBE, Db, Hermes, _env, wait_until

APPEND = json.dumps({"command": "echo ran >> log.txt"})
TRIALS = 12


def crash_before_the_call(
    server: ScriptedServer, workspace: Path, home: Path, tmp_path: Path
) -> str:
    """A session whose last reply asked for one command that never started."""
    server.add(ScriptedReply(tool_calls=(ScriptedCall("terminal", APPEND, "t1"),)))
    marker = tmp_path / "crash-marker"
    h = Hermes(
        ["-p", "append", "--base-url", server.base_url, "--approval-mode", "yolo"],
        home=home,
        cwd=workspace,
        probe=["--pause", "dispatch"],
        marker=marker,
    )
    wait_until(marker.exists, "the dispatch pause point")
    h.kill()
    db = Db(home)
    assert db.status() == {"t1": "requested"}
    return db.session()


def resume_args(server: ScriptedServer, sid: str) -> list[str]:
    return [
        "-p",
        "continue",
        "--resume",
        sid,
        "--base-url",
        server.base_url,
        "--approval-mode",
        "yolo",
        "--output-format",
        "json",
    ]


def start(
    args: list[str], *, home: Path, cwd: Path, probe: Sequence[str] = (), **env: str
) -> subprocess.Popen[str]:
    """A real hermes (through the probe, which runs it unchanged unless told to pause)."""
    return subprocess.Popen(
        [sys.executable, str(PROBE), *probe, "--", *args],
        cwd=cwd,
        env=_env(home, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_resumer_that_finds_the_call_claimed_does_not_run_it(
    server: ScriptedServer, workspace: Path, hermes_home: Path, tmp_path: Path
) -> None:
    """Deterministic: A has claimed the call (and holds there); B resumes meanwhile."""
    sid = crash_before_the_call(server, workspace, hermes_home, tmp_path)
    server.add(ScriptedReply(text="Appended."))
    marker = tmp_path / "hold-marker"
    a = start(
        resume_args(server, sid),
        home=hermes_home,
        cwd=workspace,
        probe=["--pause", "hold-claim"],
        KILL_PROBE_MARKER=str(marker),
    )
    try:
        wait_until(marker.exists, "A to claim the call")
        db = Db(hermes_home)
        assert db.status() == {"t1": "running"}
        b = start(resume_args(server, sid), home=hermes_home, cwd=workspace)
        out, err = b.communicate(timeout=60)
        assert b.returncode == 1, err
        assert "call t1 (terminal) was already taken by another hermes process" in err
        assert f"hermes pid {a.pid} on " in err
        assert json.loads(out)["is_error"] is True
        assert not (workspace / "log.txt").exists()  # B ran nothing
        assert db.status() == {"t1": "running"}  # and recorded nothing for it
        Path(str(marker) + ".go").touch()
        out, err = a.communicate(timeout=60)
        assert a.returncode == 0, err
    finally:
        if a.poll() is None:
            a.kill()
    assert (workspace / "log.txt").read_text() == "ran\n"
    assert db.status() == {"t1": "done"}
    tool_rows = db.q("SELECT content, synthetic FROM messages WHERE role = 'tool'")
    assert len(tool_rows) == 1 and tool_rows[0][1] == 0  # A's real result, nothing else
    assert server.rejections == []


@pytest.mark.parametrize("trial", range(TRIALS))
def test_two_processes_resuming_at_once_run_the_call_exactly_once(
    trial: int, server: ScriptedServer, workspace: Path, hermes_home: Path, tmp_path: Path
) -> None:
    sid = crash_before_the_call(server, workspace, hermes_home, tmp_path)
    server.add(ScriptedReply(text="Appended."), ScriptedReply(text="Appended."))
    racers = [start(resume_args(server, sid), home=hermes_home, cwd=workspace) for _ in range(2)]
    outcomes = []
    for proc in racers:
        _out, err = proc.communicate(timeout=90)
        outcomes.append((proc.returncode, err))
    assert (workspace / "log.txt").read_text() == "ran\n", outcomes
    assert Db(hermes_home).status() == {"t1": "done"}
    # Whoever did not run it either found it taken (and said so) or came after it was
    # done; no process failed for any other reason.
    for code, err in outcomes:
        assert code == 0 or (code == 1 and "already taken" in err), err
    assert server.rejections == []
