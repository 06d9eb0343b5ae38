"""Pilot: one scripted session's screen live, and again after resume: the same (issue 17,
defect 2). Statuses (interrupted stays interrupted), exit codes, diffs, reasoning,
collapsed outputs, and the status line's context and token figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hermes import protocol as p
from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.blocks import AssistantBlock, UserBlock
from hermes.frontends.tui.status import StatusBar
from hermes.frontends.tui.tool_block import ToolBlock
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, _text_of, call, screen_text, wait_for
from tests.frontends.tui.test_approvals import of, record, send

ANSWER = "# Done\n\nAll **good** now.\n\n```python\nprint('fixed')\n```\n"


def conversation_blocks(app: HermesApp) -> list[str]:
    """The text of every message and call block, top to bottom (notices are not stored
    messages: a resumed session says its own)."""
    kinds = (UserBlock, AssistantBlock, ToolBlock)
    return [_text_of(w) for w in app.conversation.children if isinstance(w, kinds)]


def status_text(app: HermesApp) -> str:
    return _text_of(app.query_one(StatusBar))


def script(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(
            text="Looking first.",
            reasoning="The file may not exist yet; check, then write it.",
            tool_calls=(
                call("terminal", "t1", command="echo checking; exit 3"),
                call("write_file", "w1", path="notes.txt", content="alpha\nkeep\n"),
            ),
            usage=(900, 30),
        ),
        ScriptedReply(
            text="Now the fix.",
            tool_calls=(
                call("patch", "p1", path="notes.txt", old_string="alpha", new_string="beta"),
            ),
            usage=(1000, 20),
        ),
        ScriptedReply(text=ANSWER, usage=(1100, 40)),
        ScriptedReply(
            tool_calls=(call("terminal", "t2", command="echo started; sleep 30"),),
            usage=(1200, 10),
        ),
        ScriptedReply(
            text="Cleaning up.",
            tool_calls=(call("terminal", "t3", command="rm notes.txt"),),
            usage=(1300, 10),
        ),
        ScriptedReply(text="Understood, I left it.", usage=(1400, 8)),
    )


async def live_session(pilot: Any, app: HermesApp) -> None:
    events = record(app)

    async def answer_until(key: str, done: Any) -> None:
        """Answer every approval with ``key`` until ``done()``."""
        while not done():
            await wait_for(pilot, lambda: bool(app.transcript.approvals) or done())
            if app.transcript.approvals:
                await pilot.pause(0.05)
                await pilot.press(key)
                await pilot.pause(0.05)

    await send(pilot, "fix the notes")
    await answer_until("y", lambda: not app.engine.busy and "All good now" in screen_text(app))
    await send(pilot, "run the long one")
    await answer_until("y", lambda: "started" in app.transcript.tools.get("t2", _NO).live)
    await pilot.press("escape")
    await wait_for(pilot, lambda: bool(of(events, p.TurnAborted)) and not app.engine.busy)
    await send(pilot, "now clean up")
    await answer_until("n", lambda: not app.engine.busy and "I left it" in screen_text(app))


class _No:
    live = ""


_NO = _No()


async def test_a_resumed_session_looks_as_it_did_live(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    script(server)
    app = make_app()  # ask: every edit and command asks
    async with app.run_test(size=SIZE) as pilot:
        await live_session(pilot, app)
        await pilot.pause(0.3)
        live = conversation_blocks(app)
        live_status = status_text(app)
        sid = app.engine.state.id
    joined = "\n".join(live)
    # What the live screen showed in the first place (else comparing proves little):
    assert "exit 3" in joined
    assert "+beta" in joined and "-alpha" in joined  # the patch's diff
    assert "interrupted" in joined and "started" in joined
    assert "denied" in joined
    assert "thinking" in joined  # the reasoning, collapsed
    assert "ctx 1.4k/128k (1%)" in live_status and "↑6.9k ↓118" in live_status

    resumed = make_app("--resume", sid)
    async with resumed.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "I left it" in screen_text(resumed))
        await wait_for(pilot, lambda: len(conversation_blocks(resumed)) == len(live))
        await pilot.pause(0.3)
        assert conversation_blocks(resumed) == live
        assert status_text(resumed) == live_status
