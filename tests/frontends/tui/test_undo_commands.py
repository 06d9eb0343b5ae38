"""Pilot: /undo, /redo, /diff, /rewind, /mcp and the conflict question."""

from __future__ import annotations

from pathlib import Path

from hermes.frontends.tui.dialogs import ListDialog
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, call, edit_then_diff, screen_text, wait_for
from tests.frontends.tui.test_approvals import send


async def test_undo_diff_redo_and_rewind(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    app = make_app("--approval-mode", "auto-edit")
    async with app.run_test(size=SIZE) as pilot:
        await edit_then_diff(pilot, app, server, workspace)
        await send(pilot, "/undo")
        await wait_for(pilot, lambda: "restored: a.txt" in screen_text(app))
        assert (workspace / "a.txt").read_text() == "old\n"
        await send(pilot, "/redo")
        await wait_for(pilot, lambda: (workspace / "a.txt").read_text() == "new\n")
        await send(pilot, "/rewind")
        await wait_for(pilot, lambda: isinstance(app.screen, ListDialog))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "rewound files and conversation" in screen_text(app))
        assert (workspace / "a.txt").read_text() == "old\n"
        assert app.prompt_input.text == "edit a.txt"


async def test_a_user_edit_after_the_agent_is_asked_about(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("write_file", "w1", path="b.txt", content="agent\n"),)),
        ScriptedReply(text="written"),
    )
    app = make_app("--approval-mode", "auto-edit")
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "write b.txt")
        await wait_for(pilot, lambda: not app.engine.busy and "written" in screen_text(app))
        (workspace / "b.txt").write_text("mine\n")
        await send(pilot, "/undo")
        await wait_for(pilot, lambda: isinstance(app.screen, ListDialog))
        dialog = app.screen
        assert isinstance(dialog, ListDialog)
        assert dialog.title_text.startswith("b.txt changed since the agent left it")
        assert [value for value, _ in dialog.items] == ["keep_mine", "take_checkpoint", "skip"]
        await pilot.press("enter")  # the first choice: keep mine
        await wait_for(pilot, lambda: "undo of turn" in screen_text(app))
        assert (workspace / "b.txt").read_text() == "mine\n"


async def test_mcp_without_servers(server: ScriptedServer, make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/mcp")
        await wait_for(pilot, lambda: "No MCP servers are configured" in screen_text(app))
