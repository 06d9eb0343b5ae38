"""The plain REPL with the to-do list, plan mode and a subagent: driven through a
prompt-toolkit pipe against the scripted server, output captured from its console.

(The harness is the one of test_repl, kept here on its own while that file changes;
the two can share a conftest.)"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
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
        return Harness(repl, pipe, buf)

    yield start
    for pipe, task in zip(pipes, tasks, strict=True):
        if not task.done():
            pipe.send_text("/quit\r")
        await asyncio.wait_for(task, 10)
    stack.close()


PLAN = "## Plan\n\n1. add **sub**\n2. test it"
ITEMS = [
    {"content": "read the code", "status": "completed"},
    {"content": "write the test", "status": "in_progress"},
]
LIST = "☰ To-do 1/2 done\n  ✓ read the code\n  ▸ write the test"


def todo(cid: str) -> ScriptedCall:
    return ScriptedCall("todo_write", json.dumps({"items": ITEMS}), cid)


async def test_the_list_is_printed_when_it_changes_and_on_resume(
    plain: Callable[..., Harness], server: ScriptedServer
) -> None:
    server.add(
        ScriptedReply(tool_calls=(todo("w1"),)),
        ScriptedReply(tool_calls=(todo("w2"),)),  # the same list again: not printed again
        ScriptedReply(text="Working."),
    )
    h = plain()
    h.send("fix it\r")
    await h.wait_for(lambda: "Working." in h.out())
    await h.idle()
    assert h.out().count(LIST) == 1
    h.send("/todos\r")
    await h.wait_for(lambda: h.out().count(LIST) == 2)
    session = h.repl.engine.state.id
    h.send("/quit\r")
    await h.wait_for(lambda: h.repl.quitting)

    again = plain("--resume", session)
    await again.wait_for(lambda: LIST in again.out())


async def test_plan_mode_shows_the_plan_and_only_y_accepts(
    plain: Callable[..., Harness], server: ScriptedServer, workspace: Path
) -> None:
    server.add(
        ScriptedReply(
            tool_calls=(
                call("terminal", "t1", command="touch made"),
                ScriptedCall("exit_plan_mode", json.dumps({"plan": PLAN}), "x1"),
            )
        ),
        ScriptedReply(text="Accepted; on it."),
    )
    h = plain("--approval-mode", "auto-edit")
    h.send("/plan\r")
    await h.wait_for(lambda: "plan mode: only reads run" in h.out())
    h.send("add sub\r")
    await h.wait_for(lambda: "the plan is ready: accept it?" in h.out())
    out = h.out()
    assert "plan mode: commands do not run while planning" in out
    assert "add sub" in out and "**" not in out.split("the plan is ready")[1]
    assert not (workspace / "made").exists()
    h.send("\r")  # Enter never accepts
    await h.wait_for(lambda: "Enter never approves" in h.out())
    assert h.repl.engine.state.policy.mode == "plan"
    h.send("y")
    await h.wait_for(lambda: "Accepted; on it." in h.out())
    await h.idle()
    assert h.repl.engine.state.policy.mode == "auto-edit"
    assert "plan accepted: approval mode auto-edit" in h.out()


async def test_a_subagents_approval_is_asked_tagged_and_answered(
    plain: Callable[..., Harness], server: ScriptedServer, workspace: Path
) -> None:
    server.add(
        ScriptedReply(
            tool_calls=(
                ScriptedCall(
                    "task",
                    json.dumps({"description": "maker", "prompt": "Create made.txt."}),
                    "k1",
                ),
            )
        ),
        ScriptedReply(tool_calls=(call("terminal", "c1", command="touch made.txt"),)),  # child
        ScriptedReply(text="made.txt exists now."),  # child
        ScriptedReply(text="The subagent made it."),
    )
    h = plain()
    h.send("make it\r")
    await h.wait_for(lambda: "[maker] asks:" in h.out())
    h.send("y")
    await h.wait_for(lambda: "The subagent made it." in h.out())
    await h.idle()
    assert (workspace / "made.txt").exists()
    assert "[maker] approved once" in h.out()
    assert "[maker] finished · ↑" in h.out()
