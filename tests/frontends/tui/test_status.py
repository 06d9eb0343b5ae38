"""Pilot: the status bar says what is running, a hook included, and the hook's line lands
in the conversation when it ends."""

from __future__ import annotations

from pathlib import Path

import yaml
from textual.widgets import Static

from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, screen_text, type_text, wait_for


def _status(app: object) -> str:
    from rich.console import Console

    bar = app.query_one("#status", Static)  # type: ignore[attr-defined]
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(bar.content)
    return console.export_text()


async def test_a_running_hook_shows_in_the_status_bar(
    server: ScriptedServer, make_app: MakeApp, hermes_home: Path, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    hook = tmp_path / "wait.sh"
    # Runs until the test lets it go: what the screen shows meanwhile does not depend on speed.
    hook.write_text(f"#!/bin/sh\nwhile [ ! -e {go} ]; do sleep 0.05; done\necho 'on call: alice'\n")
    hook.chmod(0o755)
    config = yaml.safe_load((hermes_home / "config.yaml").read_text())
    config["hooks"] = {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": str(hook)}]}]}
    (hermes_home / "config.yaml").write_text(yaml.safe_dump(config))
    server.add(ScriptedReply(text="thanks"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "who is on call")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "1 hook running" in _status(app))
        go.touch()
        await wait_for(pilot, lambda: "thanks" in screen_text(app))
        shown = screen_text(app)
        assert f"hook UserPromptSubmit '{hook}': ok (" in shown
        assert "UserPromptSubmit hook added context:\non call: alice" in shown
        assert "hook running" not in _status(app)


async def test_usage_the_server_did_not_report_is_shown_as_an_estimate(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    """Finding 5: llama-cpp-python sends no usage when streaming; the meter shows hermes'
    own count marked "≈", never a bare 0."""
    server.add(ScriptedReply(text="counted here", usage=None), ScriptedReply(text="reported"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "hello")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "counted here" in screen_text(app))
        await wait_for(pilot, lambda: "≈↑" in _status(app))
        status = _status(app)
        assert "ctx ≈" in status and "≈↑0 " not in status
        await type_text(pilot, "again")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "reported" in screen_text(app))
        assert "≈↑" in _status(app)  # the session's totals still hold an estimate
