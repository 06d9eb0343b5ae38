"""``hermes -p`` stopped by SIGTERM, SIGHUP or SIGQUIT: handled like an interrupt, with
real processes (issue 15, finding 9).

The command's processes are found through /proc by a sleep duration no other process
uses, so the test works whether or not the command runs in a sandbox's PID namespace.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.engine.test_kill import _env, wait_until


def processes_running(argv: str) -> list[tuple[int, int]]:
    """``(pid, pgid)`` of live processes whose command line is ``argv``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").strip()
            fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if cmdline == argv.encode() and fields[0] != b"Z":
            found.append((int(entry), int(fields[2])))
    return found


def group_alive(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_a_stop_signal_kills_the_command_group_records_it_and_exits_128_plus(
    sig: signal.Signals, server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    duration = f"{1000 + sig:d}.5"  # unique per case: no other process sleeps this long
    command = f"echo started; sleep {duration}"
    server.add(
        ScriptedReply(
            tool_calls=(ScriptedCall("terminal", json.dumps({"command": command}), "t1"),)
        ),
        ScriptedReply(text="never asked"),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hermes",
            "-p",
            "sleep a while",
            "--base-url",
            server.base_url,
            "--approval-mode",
            "yolo",
            "--output-format",
            "json",
        ],
        cwd=workspace,
        env=_env(hermes_home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(lambda: bool(processes_running(f"sleep {duration}")), "the command to run")
        sleepers = processes_running(f"sleep {duration}")
        pgids = {pgid for _, pgid in sleepers}
        assert os.getpgid(proc.pid) not in pgids  # the command has a process group of its own
        started = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid, _ in processes_running(f"sleep {duration}"):
            os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 128 + sig, err
    assert time.monotonic() - started < 30  # a hang guard, not a speed assertion
    assert not any(group_alive(pgid) for pgid in pgids)
    assert processes_running(f"sleep {duration}") == []
    assert f"stopped by {sig.name}" in err
    assert json.loads(out)["is_error"] is True
    db = sqlite3.connect(hermes_home / "hermes.db")
    try:
        status = db.execute("SELECT status FROM tool_calls WHERE call_id = 't1'").fetchone()
        result = db.execute("SELECT content FROM messages WHERE tool_call_id = 't1'").fetchone()
    finally:
        db.close()
    assert status == ("interrupted",)
    assert result is not None and "started" in result[0] and "interrupted" in result[0]
    assert len(server.requests) == 1  # stopped: the model was not asked again


# ---------------------------------------------------------------------------- the sandbox


def test_headless_says_on_stderr_when_commands_run_without_a_sandbox(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    from tests.support import run_hermes

    server.add(ScriptedReply(text="hi"))
    run = run_hermes(
        "-p", "hi", "--base-url", server.base_url, "--no-sandbox", cwd=workspace, home=hermes_home
    )
    assert run.returncode == 0 and run.stdout == "hi\n"
    assert run.stderr == (
        "hermes: warning: sandbox off (--no-sandbox or sandbox.mode: off): commands and MCP "
        "servers run with your full permissions\n"
    )


def test_headless_tells_the_user_how_to_allow_what_the_sandbox_blocked(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> None:
    from tests.sandbox.support import probe
    from tests.support import run_hermes

    if probe().features is None:
        pytest.skip(f"bubblewrap cannot run here: {probe().reason}")
    command = (
        f"{sys.executable} -c \"import urllib.request as u; u.urlopen('http://example.com/')\""
    )
    server.add(
        ScriptedReply(tool_calls=(ScriptedCall("terminal", json.dumps({"command": command})),)),
        ScriptedReply(text="the network is off"),
    )
    run = run_hermes(
        "-p", "fetch", "--base-url", server.base_url, "--approval-mode", "auto",
        cwd=workspace, home=hermes_home,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stderr == (
        f"hermes: warning: the sandbox blocked its network access ({command}). To allow it, "
        "set sandbox.network: on in $HERMES_HOME/config.yaml, or run with --no-sandbox.\n"
    )
    told = next(m for m in server.requests[1].messages if m.get("role") == "tool")
    assert "[sandbox: network blocked" in told["content"]
