"""Commands in the sandbox through the engine: approval mode auto, and leaving the sandbox
only when a human says so (real bubblewrap, real processes, the scripted model)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hermes import protocol as p
from hermes.engine.engine import Engine
from hermes.sandbox import backends
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply
from tests.sandbox.support import outside_dir, requires_bwrap
from tests.support import drive, make_config, make_engine, of_type, run_prompt

pytestmark = requires_bwrap
CONNECT = (
    f'{sys.executable} -c "import socket; s = socket.socket(); s.settimeout(60); '
    "s.connect(('10.255.255.1', 80))\""
)


def call(cid: str, command: str) -> ScriptedCall:
    return ScriptedCall("terminal", json.dumps({"command": command}), cid)


@pytest.fixture
def outside() -> Iterator[Path]:
    with outside_dir() as path:
        yield path


def engine_for(
    server: ScriptedServer, store: Store, workspace: Path, mode: str, *, interactive: bool = True
) -> Engine:
    cfg = make_config(server.base_url, workspace, approval_mode=mode)
    return make_engine(cfg, workspace, store, interactive=interactive)


async def test_auto_runs_a_sandboxed_command_without_asking_then_asks_to_leave(
    server: ScriptedServer, store: Store, workspace: Path, outside: Path
) -> None:
    target = outside / "made.txt"
    command = f"echo inside > in.txt; echo outside > {target}"
    server.add(ScriptedReply(tool_calls=(call("t1", command),)), ScriptedReply(text="ok"))
    engine = engine_for(server, store, workspace, "auto")
    events = await run_prompt(engine, "go", answer=lambda ev: "once")
    started = of_type(events, p.SessionStarted)[0]
    assert started.sandbox == "sandboxed"
    (asked,) = of_type(events, p.ApprovalRequested)  # only to leave the sandbox
    assert asked == p.ApprovalRequested(
        call_id="t1",
        name="terminal",
        arguments=json.dumps({"command": command}),
        reason="run outside the sandbox: the sandbox blocked a write outside the workspace",
        preview=command,
    )
    assert target.read_text() == "outside\n" and (workspace / "in.txt").read_text() == "inside\n"
    (end,) = of_type(events, p.ToolCallEnd)
    assert end.status == "done"
    assert end.output.split("\n")[0].endswith(f"line 1: {target}: Read-only file system")
    assert "[the user approved running it again outside the sandbox]\n" in end.output
    assert end.output.endswith("[sandbox off]\n[exit code 0]")
    order = [type(e).__name__ for e in events if isinstance(e, p.ToolCallBegin | p.ApprovalRequested | p.ApprovalResolved | p.ToolCallEnd)]  # fmt: skip
    assert order == [
        "ToolCallBegin",
        "ApprovalRequested",
        "ApprovalResolved",
        "ToolCallBegin",
        "ToolCallEnd",
    ]
    stored = [m.message.content for m in store.load_messages(engine.state.id)]
    assert end.output in stored  # what the model got is what was committed


@pytest.mark.parametrize("answer", ["deny", "abort"])
async def test_declining_keeps_the_sandboxed_result(
    answer: p.ApprovalDecision,
    server: ScriptedServer,
    store: Store,
    workspace: Path,
    outside: Path,
) -> None:
    target = outside / "never.txt"
    server.add(ScriptedReply(tool_calls=(call("t1", f"touch {target}"),)), ScriptedReply(text="ok"))
    engine = engine_for(server, store, workspace, "auto")
    events = await run_prompt(engine, "go", answer=lambda ev: answer)
    assert not target.exists()
    (end,) = of_type(events, p.ToolCallEnd)
    said = "stopped the turn" if answer == "abort" else "declined"
    assert end.status == "failed"
    assert end.output.endswith(
        f"[exit code 1]\n[the user {said} instead of running it outside the sandbox]"
    )
    if answer == "abort":
        assert of_type(events, p.TurnAborted) == [
            p.TurnAborted("denied by the user, who stopped the turn")
        ]
    else:
        assert of_type(events, p.TurnComplete)[0].text == "ok"


async def test_headless_tells_the_model_and_stderr_how_to_allow_it(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(ScriptedReply(tool_calls=(call("t1", CONNECT),)), ScriptedReply(text="no net"))
    engine = engine_for(server, store, workspace, "yolo", interactive=False)
    events = await run_prompt(engine, "go")
    assert of_type(events, p.ApprovalRequested) == []
    (end,) = of_type(events, p.ToolCallEnd)
    assert "[Errno 101] Network is unreachable" in end.output
    assert "[sandbox: network blocked — commands run without network" in end.output
    warnings = [w for w in of_type(events, p.Warning) if w.kind == "sandbox"]
    assert warnings == [
        p.Warning(
            f"the sandbox blocked its network access ({CONNECT}). To allow it, set "
            "sandbox.network: on in $HERMES_HOME/config.yaml, or run with --no-sandbox.",
            kind="sandbox",
        )
    ]


async def test_ask_still_asks_and_what_runs_runs_sandboxed(
    server: ScriptedServer, store: Store, workspace: Path, outside: Path
) -> None:
    target = outside / "x.txt"
    server.add(ScriptedReply(tool_calls=(call("t1", f"touch {target}"),)), ScriptedReply(text="ok"))
    engine = engine_for(server, store, workspace, "ask")
    answers: list[str] = []

    def answer(ev: p.ApprovalRequested) -> p.ApprovalDecision:
        answers.append(ev.reason)
        return "once" if len(answers) == 1 else "deny"

    await run_prompt(engine, "go", answer=answer)
    assert answers == [
        "approval mode ask: asks: touch is not read-only",
        "run outside the sandbox: the sandbox blocked a write outside the workspace",
    ]
    assert not target.exists()


async def test_catastrophic_commands_still_ask_in_auto(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    server.add(ScriptedReply(tool_calls=(call("t1", "rm -rf ~"),)), ScriptedReply(text="ok"))
    engine = engine_for(server, store, workspace, "auto")
    events = await run_prompt(engine, "go", answer=lambda ev: "deny")
    (asked,) = of_type(events, p.ApprovalRequested)
    assert asked.catastrophic and asked.reason.startswith("catastrophic:")


async def test_auto_without_a_sandbox_asks_and_every_front_end_is_told(
    server: ScriptedServer,
    store: Store,
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        backends, "select_backend", lambda preferred="auto": (None, "no bwrap; no Landlock")
    )
    server.add(ScriptedReply(tool_calls=(call("t1", "touch a"),)), ScriptedReply(text="ok"))
    engine = engine_for(server, store, workspace, "auto")
    events = await run_prompt(engine, "go", answer=lambda ev: "deny")
    assert of_type(events, p.SessionStarted)[0].sandbox == "NO SANDBOX"
    assert [w.message[:30] for w in of_type(events, p.Warning)] == [
        "no sandbox: no bwrap; no Landl"
    ]
    (asked,) = of_type(events, p.ApprovalRequested)
    assert asked.reason == "approval mode auto: there is no sandbox, so commands ask"


async def test_auto_checkpoints_each_command_so_undo_takes_it_back(
    server: ScriptedServer, store: Store, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("one\n")
    (workspace / "b.txt").write_text("two\n")
    server.add(
        ScriptedReply(tool_calls=(call("t1", "echo changed > a.txt; rm b.txt; echo n > c.txt"),)),
        ScriptedReply(text="done"),
    )
    engine = engine_for(server, store, workspace, "auto")
    await engine.start()
    events = await drive(engine, "change things")
    assert of_type(events, p.ApprovalRequested) == []
    assert files(workspace) == {"a.txt": "changed\n", "c.txt": "n\n"}
    await engine.wait_idle()
    done = await outcome_of(engine, p.Undo())
    assert isinstance(done, p.UndoDone) and done.files_restored == ("a.txt", "b.txt", "c.txt")
    assert files(workspace) == {"a.txt": "one\n", "b.txt": "two\n"}
    await engine.submit(p.Shutdown())


def files(folder: Path) -> dict[str, str]:
    return {f.name: f.read_text() for f in sorted(folder.iterdir())}


async def outcome_of(engine: Engine, op: p.Op) -> Any:
    await engine.submit(op)

    async def first() -> p.Event:
        async for ev in engine.events():
            if isinstance(ev, p.UndoDone | p.Warning):
                return ev
        raise AssertionError("no outcome")

    return await asyncio.wait_for(first(), 30)
