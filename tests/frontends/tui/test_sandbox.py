"""Pilot: the sandbox in the TUI — what the status bar says, and the offer to run a
blocked command again outside the sandbox (y runs it; Enter never does)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.status import StatusBar
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, call, screen_text, wait_for
from tests.frontends.tui.test_approvals import bar, send
from tests.sandbox.support import outside_dir, requires_bwrap


def status_text(app: HermesApp) -> str:
    shown = app.query_one(StatusBar).render()
    return getattr(shown, "plain", str(shown))


@pytest.fixture
def outside() -> Iterator[Path]:
    with outside_dir() as path:
        yield path


async def test_no_sandbox_is_shown_in_the_status_bar(make_app: MakeApp) -> None:
    app = make_app("--no-sandbox")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "sandbox off" in status_text(app))
        await wait_for(
            pilot, lambda: "commands and MCP servers run with your full" in screen_text(app)
        )


@requires_bwrap
async def test_the_status_bar_says_sandboxed(make_app: MakeApp) -> None:
    app = make_app("--approval-mode", "auto")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "sandboxed" in status_text(app))
        assert "auto" in status_text(app)


@requires_bwrap
async def test_a_blocked_write_is_run_outside_the_sandbox_after_y_not_after_enter(
    server: ScriptedServer, make_app: MakeApp, outside: Path
) -> None:
    target = outside / "escaped.txt"
    command = f"echo hello > {target}"
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command=command),)),
        ScriptedReply(text="Written outside."),
    )
    app = make_app("--approval-mode", "auto")
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "write it there")
        await wait_for(pilot, lambda: bar(app) is not None)
        shown = screen_text(app)
        assert "run outside the sandbox" in shown and command in shown
        assert not target.exists()
        await pilot.press("enter")  # Enter alone never approves
        await pilot.pause(0.2)
        assert not target.exists() and bar(app) is not None
        await pilot.press("y")
        await wait_for(
            pilot, lambda: not app.engine.busy and "Written outside." in screen_text(app)
        )
        assert target.read_text() == "hello\n"


@requires_bwrap
async def test_n_keeps_the_command_in_the_sandbox(
    server: ScriptedServer, make_app: MakeApp, outside: Path
) -> None:
    target = outside / "kept-out.txt"
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command=f"touch {target}"),)),
        ScriptedReply(text="Fine."),
    )
    app = make_app("--approval-mode", "auto")
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "try")
        await wait_for(pilot, lambda: bar(app) is not None)
        await pilot.press("n")
        await wait_for(pilot, lambda: not app.engine.busy and "Fine." in screen_text(app))
        assert not target.exists()
