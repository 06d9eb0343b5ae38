"""The plain REPL and the sandbox: the banner says how commands run, and a blocked
command is offered to run again outside the sandbox (y runs it; Enter never does)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.plain.test_repl import Harness, call, plain  # noqa: F401 (fixture)
from tests.sandbox.support import outside_dir, requires_bwrap


@pytest.fixture
def outside() -> Iterator[Path]:
    with outside_dir() as path:
        yield path


async def test_the_banner_says_when_there_is_no_sandbox(
    plain: Callable[..., Harness],  # noqa: F811
) -> None:
    h = plain("--no-sandbox")
    await h.wait_for(lambda: "/help for commands" in h.out())
    banner = next(line for line in h.out().splitlines() if "/help for commands" in line)
    assert "· sandbox off ·" in banner
    await h.wait_for(lambda: "! sandbox off (--no-sandbox or sandbox.mode: off)" in h.out())


@requires_bwrap
async def test_a_blocked_command_runs_outside_after_y(
    plain: Callable[..., Harness],  # noqa: F811
    server: ScriptedServer,
    outside: Path,
) -> None:
    target = outside / "out.txt"
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command=f"touch {target}"),)),
        ScriptedReply(text="Touched."),
    )
    h = plain("--approval-mode", "auto")
    await h.wait_for(lambda: "· sandboxed ·" in h.out())
    h.send("touch it\r")
    await h.wait_for(lambda: h.repl.pending_approval() is not None)
    assert "run outside the sandbox" in h.out() and f"$ touch {target}" in h.out()
    h.send("\r")
    await h.wait_for(lambda: "Enter never approves" in h.out())
    assert not target.exists()
    h.send("y")
    await h.wait_for(lambda: "Touched." in h.out())
    assert target.exists()
