"""The app as a process: SIGTERM, SIGHUP and SIGQUIT are an interrupt and a quit
(issue 15, finding 9), delivered for real to this process while a command runs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from hermes import protocol as p
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, call, wait_for
from tests.frontends.tui.test_approvals import _alive, of, record, send


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
async def test_a_stop_signal_interrupts_records_and_quits_with_128_plus(
    sig: signal.Signals,
    server: ScriptedServer,
    make_app: MakeApp,
    workspace: Path,
    hermes_home: Path,
) -> None:
    script = "echo $$ > shell.pid; sleep 300 & echo $! > child.pid; echo started; wait"
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command=script),)),
        ScriptedReply(text="never asked"),
    )
    # $$ and $! are host PIDs only outside the sandbox's PID namespace.
    app = make_app("--approval-mode", "yolo", "--no-sandbox")
    events = record(app)
    before = signal.getsignal(sig)  # not always SIG_DFL: ray.init in an earlier test sets one
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "run it")
        await wait_for(pilot, lambda: "started" in app.transcript.tools["t1"].live)
        pids = [int((workspace / f).read_text()) for f in ("shell.pid", "child.pid")]
        # The app took the signal (else it would end the test run): the loop's handler.
        assert signal.getsignal(sig) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), sig)
        await wait_for(pilot, lambda: app.return_value is not None, 60)  # a hang guard
        code = app.return_value  # what `hermes` exits with
        session = app.engine.state.id
    assert code == 128 + sig
    assert not any(_alive(pid) for pid in pids)
    assert [e.status for e in of(events, p.ToolCallEnd)] == ["interrupted"]
    store = Store(hermes_home / "hermes.db")
    try:
        assert store.call_states(session)["t1"].status == "interrupted"
    finally:
        store.close()
    assert signal.getsignal(sig) == before  # given back when the app ended
