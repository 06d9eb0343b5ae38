"""The plain REPL (``hermes --plain``) driven through a prompt-toolkit pipe, against the
scripted server, with output captured from its rich console."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.input.base import PipeInput
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from hermes.cli.main import build_parser
from hermes.frontends.common.input_history import InputHistory
from hermes.frontends.common.sessions import Launcher
from hermes.frontends.plain.repl import PlainRepl
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply


@pytest.fixture(autouse=True)
def fast_retries(hermes_home: Path) -> None:
    (hermes_home / "config.yaml").write_text(
        "model:\n  retry_base_delay: 0.01\n  retry_max_delay: 0.05\n"
    )


def call(name: str, cid: str, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


class Harness:
    def __init__(self, repl: PlainRepl, pipe: PipeInput, buf: io.StringIO) -> None:
        self.repl, self.pipe, self.buf = repl, pipe, buf
        self.task: asyncio.Task[int] | None = None  # the running REPL; its result: exit code

    def out(self) -> str:
        return self.buf.getvalue()

    def send(self, text: str) -> None:
        self.pipe.send_text(text)

    async def wait_for(self, condition: Callable[[], bool], limit: float = 10) -> None:
        deadline = asyncio.get_running_loop().time() + limit
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out; output so far:\n{self.out()}")
            await asyncio.sleep(0.02)

    async def idle(self) -> None:
        await self.wait_for(lambda: not self.repl.engine.busy)


@pytest.fixture
async def plain(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> AsyncIterator[Callable[..., Harness]]:
    tasks: list[asyncio.Task[int]] = []
    pipes: list[PipeInput] = []
    stack = contextlib.ExitStack()

    def start(*flags: str) -> Harness:
        args = build_parser().parse_args(
            ["--plain", "--base-url", server.base_url, "-C", str(workspace), *flags]
        )
        launcher = Launcher(args)
        pipe = stack.enter_context(create_pipe_input())
        pipes.append(pipe)
        buf = io.StringIO()
        repl = PlainRepl(
            launcher.first(),
            launcher,
            console=Console(file=buf, width=100, force_terminal=False, highlight=False),
            input=pipe,
            output=DummyOutput(),
            history=InputHistory(hermes_home / "input_history"),
            patch=False,
        )
        tasks.append(asyncio.create_task(repl.run(pick=launcher.wants_picker)))
        harness = Harness(repl, pipe, buf)
        harness.task = tasks[-1]
        return harness

    yield start
    for pipe, task in zip(pipes, tasks, strict=True):
        if not task.done():
            pipe.send_text("/quit\r")
        await asyncio.wait_for(task, 10)
    stack.close()


async def test_prompt_streams_a_rendered_answer(
    plain: Callable[..., Harness], server: ScriptedServer
) -> None:
    server.add(
        ScriptedReply(
            text="# Plan\n\nFirst **read**, then:\n\n```python\nprint('x')\n```\n", chunk_size=4
        )
    )
    h = plain()
    h.send("make a plan\r")
    await h.wait_for(lambda: "print('x')" in h.out())
    await h.idle()
    out = h.out()
    assert "Plan" in out and "First read, then:" in out and "**" not in out
    assert server.requests[0].messages[-1]["content"] == "make a plan"


async def test_enter_never_approves_then_y_runs_it(
    plain: Callable[..., Harness], server: ScriptedServer, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch made.txt"),)),
        ScriptedReply(text="Made."),
    )
    h = plain()
    h.send("make it\r")
    await h.wait_for(lambda: h.repl.pending_approval() is not None)
    assert "touch made.txt" in h.out() and "[y] once" in h.out()
    h.send("\r")
    await h.wait_for(lambda: "Enter never approves" in h.out())
    assert not (workspace / "made.txt").exists()
    h.send("y")
    await h.wait_for(lambda: "Made." in h.out())
    assert (workspace / "made.txt").exists() and "approved once" in h.out()


async def test_always_then_deny_then_esc(
    plain: Callable[..., Harness], server: ScriptedServer, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch a.txt"),)),
        ScriptedReply(tool_calls=(call("terminal", "t2", command="touch b.txt"),)),
        ScriptedReply(tool_calls=(call("write_file", "w1", path="c.txt", content="c\n"),)),
        ScriptedReply(text="c was refused"),
        ScriptedReply(tool_calls=(call("write_file", "w2", path="d.txt", content="d\n"),)),
    )
    h = plain()
    h.send("go\r")
    await h.wait_for(lambda: h.repl.pending_approval() is not None)
    h.send("a")  # always: touch; b.txt does not ask
    await h.wait_for(lambda: (p := h.repl.pending_approval()) is not None and p.call_id == "w1")
    assert (workspace / "a.txt").exists() and (workspace / "b.txt").exists()
    assert "--- /dev/null" in h.out() and "+c" in h.out()  # the write's diff preview
    h.send("n")
    await h.wait_for(lambda: "c was refused" in h.out())
    assert "denied by the user" in server.requests[3].messages[-1]["content"]
    h.send("again\r")
    await h.wait_for(lambda: (p := h.repl.pending_approval()) is not None and p.call_id == "w2")
    h.send("\x1b")
    await h.wait_for(lambda: "turn stopped" in h.out())
    assert not (workspace / "c.txt").exists() and not (workspace / "d.txt").exists()
    assert len(server.requests) == 5


async def test_esc_interrupts_a_running_command(
    plain: Callable[..., Harness], server: ScriptedServer
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="echo started; sleep 30"),)),
        ScriptedReply(text="stopped as asked"),
    )
    h = plain("--approval-mode", "yolo")
    h.send("run\r")
    await h.wait_for(lambda: "    started" in h.out())
    h.send("\x1b")
    await h.wait_for(lambda: "turn stopped" in h.out())
    await h.idle()
    h.send("next\r")
    await h.wait_for(lambda: "stopped as asked" in h.out())
    assert server.rejections == []


async def test_slash_commands(plain: Callable[..., Harness], server: ScriptedServer) -> None:
    server.add(ScriptedReply(text="from the other model"))
    h = plain()
    h.send("/help\r")
    await h.wait_for(lambda: "/approvals" in h.out() and "Enter never" not in h.out())
    h.send("/model other-model\r")
    await h.wait_for(lambda: "model switched to other-model" in h.out())
    h.send("hi\r")
    await h.wait_for(lambda: "from the other model" in h.out())
    assert server.requests[-1].body["model"] == "other-model"
    h.send("/approvals auto-edit\r")
    await h.wait_for(lambda: "approval mode: auto-edit" in h.out())
    assert h.repl.engine.state.policy.mode == "auto-edit"
    h.send("/facts\r")
    await h.wait_for(lambda: "no facts yet" in h.out() or "[" in h.out())
    h.send("/bogus\r")
    await h.wait_for(lambda: "unknown command /bogus" in h.out())


async def test_resume_picker_by_number(
    plain: Callable[..., Harness], server: ScriptedServer
) -> None:
    server.add(ScriptedReply(text="first answer"), ScriptedReply(text="resumed answer"))
    h = plain()
    h.send("remember the blue door\r")
    await h.wait_for(lambda: "first answer" in h.out())
    await h.idle()
    first_id = h.repl.engine.state.id
    h.send("/new\r")
    await h.wait_for(lambda: h.repl.engine.state.id != first_id)
    h.send("/resume\r")
    await h.wait_for(lambda: "remember the blue door" in h.out().split("/resume")[-1])
    h.send("1\r")
    await h.wait_for(lambda: h.repl.engine.state.id == first_id)
    h.send("and now?\r")
    await h.wait_for(lambda: "resumed answer" in h.out())
    contents = [m["content"] for m in server.requests[-1].messages if m["role"] == "user"]
    assert contents == ["remember the blue door", "and now?"]


async def test_approvals_list_revokes_a_grant_by_number(
    plain: Callable[..., Harness], server: ScriptedServer
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch a.txt"),)),
        ScriptedReply(text="touched"),
    )
    h = plain()
    h.send("touch it\r")
    await h.wait_for(lambda: h.repl.pending_approval() is not None)
    h.send("a")
    await h.wait_for(lambda: "touched" in h.out())
    await h.idle()
    sid = h.repl.engine.state.id
    h.send("/approvals\r")
    await h.wait_for(lambda: "  1  revoke  terminal:touch" in h.out())
    assert "'Always' grants of this session:" in h.out()
    h.send("1\r")
    await h.wait_for(lambda: "revoked 'terminal:touch': matching calls ask again" in h.out())
    assert h.repl.engine.state.policy.grants == []
    assert h.repl.setup.store.session_grants(sid) == []


async def test_rewind_list_is_picked_by_turn(
    plain: Callable[..., Harness], server: ScriptedServer, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("old\n")
    server.add(
        ScriptedReply(tool_calls=(call("write_file", "w1", path="a.txt", content="new\n"),)),
        ScriptedReply(text="edited"),
    )
    h = plain("--approval-mode", "auto-edit")
    h.send("edit a.txt\r")
    await h.wait_for(lambda: "edited" in h.out())
    await h.idle()
    h.send("/rewind\r")
    await h.wait_for(lambda: "files|conversation for one" in h.out())
    # the rows start with their turn; no second numbering
    assert re.search(r"^  1  \d\d:\d\d  1 file\(s\)", h.out(), re.MULTILINE)
    h.send("1\r")
    await h.wait_for(lambda: "rewound files and conversation to before turn 1" in h.out())
    assert (workspace / "a.txt").read_text() == "old\n"


def test_plain_without_a_terminal_points_at_p(workspace: Path, hermes_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
    env["HERMES_HOME"] = str(hermes_home)
    run = subprocess.run(
        [sys.executable, "-m", "hermes", "--plain", "--base-url", "http://127.0.0.1:9/v1"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert run.returncode == 2
    assert "-p" in run.stderr and "stdin is not one" in run.stderr and run.stdout == ""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
async def test_a_stop_signal_interrupts_records_and_quits_with_128_plus(
    sig: signal.Signals,
    plain: Callable[..., Harness],
    server: ScriptedServer,
    workspace: Path,
    hermes_home: Path,
) -> None:
    """Issue 15, finding 9, delivered for real to this process while a command runs."""
    script = "echo $$ > shell.pid; sleep 300 & echo $! > child.pid; echo started; wait"
    server.add(ScriptedReply(tool_calls=(call("terminal", "t1", command=script),)))
    # $$ and $! are host PIDs only outside the sandbox's PID namespace.
    h = plain("--approval-mode", "yolo", "--no-sandbox")
    h.send("run it\r")
    await h.wait_for(lambda: (workspace / "child.pid").exists() and "started" in h.out())
    pids = [int((workspace / f).read_text()) for f in ("shell.pid", "child.pid")]
    session = h.repl.engine.state.id
    assert signal.getsignal(sig) not in (signal.SIG_DFL, signal.SIG_IGN, None)
    os.kill(os.getpid(), sig)
    assert h.task is not None
    assert await asyncio.wait_for(h.task, 30) == 128 + sig
    assert f"stopped by {sig.name}" in h.out()
    assert not any(_alive(pid) for pid in pids)
    store = Store(hermes_home / "hermes.db")
    try:
        assert store.call_states(session)["t1"].status == "interrupted"
    finally:
        store.close()


def _alive(pid: int) -> bool:
    """Exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


async def test_the_toolbar_marks_usage_the_server_did_not_report(
    plain: Callable[..., Harness], server: ScriptedServer
) -> None:
    """Finding 5: counted by hermes when the server sends no usage, shown with "≈"."""
    server.add(ScriptedReply(text="counted here", usage=None))
    h = plain()
    assert "≈" not in h.repl._toolbar()
    h.send("hello\r")
    await h.wait_for(lambda: "counted here" in h.out())
    await h.idle()
    toolbar = h.repl._toolbar()
    assert " · ctx ≈" in toolbar and " · ≈↑" in toolbar
