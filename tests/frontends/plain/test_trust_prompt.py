"""The plain REPL's folder-trust question, driven through a prompt-toolkit pipe: ``y``
trusts and the session reopens with the folder's config, ``n`` and Esc run without it,
Enter never trusts, other keys do nothing."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
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
from hermes.frontends.plain.trust_prompt import ENTER_HINT
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.trust.material import read_material
from hermes.trust.store import TrustRecord, TrustStore


@dataclass
class Harness:
    repl: PlainRepl
    pipe: PipeInput
    buf: io.StringIO
    task: asyncio.Task[int]

    def out(self) -> str:
        return self.buf.getvalue()

    async def wait_for(self, condition: Callable[[], bool], limit: float = 10) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"timed out; output so far:\n{self.out()}")
            await asyncio.sleep(0.02)

    async def started(self) -> None:
        """The question is answered and the session's engine runs."""
        await self.wait_for(lambda: self.repl.transcript.status.session_id != "")


@pytest.fixture
async def plain(
    server: ScriptedServer, workspace: Path, hermes_home: Path
) -> AsyncIterator[Callable[[], Harness]]:
    (workspace / ".hermes").mkdir()
    (workspace / ".hermes" / "config.yaml").write_text("approvals:\n  mode: yolo\n")
    made: list[Harness] = []
    stack = contextlib.ExitStack()

    def start() -> Harness:
        args = build_parser().parse_args(
            ["--plain", "--base-url", server.base_url, "-C", str(workspace)]
        )
        launcher = Launcher(args)
        pipe = stack.enter_context(create_pipe_input())
        buf = io.StringIO()
        repl = PlainRepl(
            launcher.first(),
            launcher,
            console=Console(file=buf, width=200, force_terminal=False, highlight=False),
            input=pipe,
            output=DummyOutput(),
            history=InputHistory(hermes_home / "input_history"),
            patch=False,
        )
        repl.trust_arm_seconds = 0.0
        harness = Harness(repl, pipe, buf, asyncio.create_task(repl.run()))
        made.append(harness)
        return harness

    yield start
    for h in made:
        if not h.task.done():
            await h.started()
            h.pipe.send_text("/quit\r")
        assert await asyncio.wait_for(h.task, 10) == 0
    stack.close()


def question_lines(workspace: Path) -> list[str]:
    return [
        f"{workspace}/.hermes/config.yaml would change what hermes does, and you have not "
        "trusted this folder:",
        "  • approvals.mode = 'yolo' (now 'ask'): asks less before running calls",
        f"Folder: {workspace}",
        "y trusts this folder (until these files change) · n or Esc runs without these "
        "settings · Enter does nothing",
    ]


async def test_enter_never_trusts_then_y_reopens_with_the_config(
    plain: Callable[[], Harness], workspace: Path, hermes_home: Path
) -> None:
    h = plain()
    await h.wait_for(lambda: "Enter does nothing" in h.out())
    assert h.out().splitlines() == question_lines(workspace)
    h.pipe.send_text("\rq")  # Enter, and a key that means nothing here
    await h.wait_for(lambda: ENTER_HINT in h.out())
    assert TrustStore().records() == [] and h.repl.transcript.status.session_id == ""
    h.pipe.send_text("y")
    await h.started()
    assert h.out().splitlines()[4:6] == [
        ENTER_HINT,
        f"trusted {workspace}: its .hermes config applies",
    ]
    assert (h.repl.setup.config.approvals.mode, h.repl.engine.state.policy.mode) == ("yolo", "yolo")
    [record] = TrustStore().records()
    assert record == TrustRecord(str(workspace), read_material(workspace).digest, record.trusted_at)
    store = Store(hermes_home / "hermes.db")  # the untrusted session never started: gone
    try:
        assert [s.id for s in store.list_sessions()] == [h.repl.engine.state.id]
    finally:
        store.close()


@pytest.mark.parametrize("key", ["n", "\x1b"])
async def test_n_or_esc_runs_without_the_config(
    plain: Callable[[], Harness], workspace: Path, key: str
) -> None:
    h = plain()
    await h.wait_for(lambda: "Enter does nothing" in h.out())
    h.pipe.send_text(key)
    await h.started()
    assert h.repl.engine.state.policy.mode == "ask"
    assert TrustStore().records() == []
    notice = (
        f"ignoring approvals.mode from {workspace}/.hermes/config.yaml: this folder is not "
        f"trusted; to use them run 'hermes trust {workspace}' or pass --trust-workspace"
    )
    assert notice in " ".join(h.out().split())  # as wrapped to the console's width
