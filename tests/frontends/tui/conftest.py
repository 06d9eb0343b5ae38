"""Fixtures for driving the Textual app against the scripted model server.

Every app gets a real session (``prepare_session`` through the launcher, real SQLite
under the per-test HERMES_HOME), the scripted server as its endpoint, fixed clocks so
elapsed times and ages never move, and approvals armed at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from hermes.cli.main import build_parser
from hermes.frontends.common.input_history import InputHistory
from hermes.frontends.common.sessions import Launcher
from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.options import AppOptions
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedCall, ScriptedReply

SIZE = (100, 30)


@pytest.fixture(autouse=True)
def fast_retries(hermes_home: Path) -> None:
    (hermes_home / "config.yaml").write_text(
        "model:\n  retry_base_delay: 0.01\n  retry_max_delay: 0.05\n  context_window: 128000\n"
    )


def call(name: str, cid: str, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args), cid)


MakeApp = Callable[..., HermesApp]


@pytest.fixture
def make_app(server: ScriptedServer, workspace: Path, hermes_home: Path) -> Iterator[MakeApp]:
    """Build an app for this test's workspace; extra CLI flags as arguments."""

    def make(
        *flags: str, pick: bool | None = None, deferred: bool = False, **options: Any
    ) -> HermesApp:
        """``deferred``: open the session after the screen is up, as ``hermes`` does."""
        args = build_parser().parse_args(
            ["--base-url", server.base_url, "-C", str(workspace), *flags]
        )
        launcher = Launcher(args)
        launcher.check()
        setup = None if deferred else launcher.first()
        defaults: dict[str, Any] = {
            "clock": lambda: 0.0,
            "approval_arm_seconds": 0.0,
            "cursor_blink": False,
            "tune_gc": False,
            "history": InputHistory(hermes_home / "input_history"),
        }
        opts = AppOptions(**{**defaults, **options})  # a test may set any of them
        return HermesApp(
            setup,
            launcher=launcher,
            pick=launcher.wants_picker if pick is None else pick,
            options=opts,
        )

    yield make


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds (fails the test after ``limit`` s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` into the focused widget, key by key."""
    keys = [
        {" ": "space", "/": "slash", "@": "at", "-": "minus", ".": "full_stop"}.get(c, c)
        for c in text
    ]
    await pilot.press(*keys)


def screen_text(app: HermesApp) -> str:
    """Everything the conversation shows, as plain text (for assertions)."""
    return "\n".join(_text_of(block) for block in app.conversation.children)


def _text_of(widget: Any) -> str:
    from rich.console import Console
    from textual.widgets import Markdown, Static

    from hermes.frontends.tui.selectable import SelectableRich

    if not widget.display:
        return ""
    if isinstance(widget, Markdown):
        return widget.source
    if isinstance(widget, SelectableRich):
        return "\n".join(line.rstrip() for line in widget.plain.split("\n"))
    if isinstance(widget, Static):
        content = widget.content
        if isinstance(content, str):
            return content
        console = Console(width=200, record=True, file=open("/dev/null", "w"))
        console.print(content)
        return console.export_text()
    return "\n".join(_text_of(child) for child in widget.children)


Run = Callable[[Pilot[Any]], Awaitable[None]]


async def edit_then_diff(
    pilot: Pilot[Any], app: HermesApp, server: ScriptedServer, workspace: Path
) -> None:
    """The model rewrites a.txt ("old" -> "new", auto-edit mode), then ``/diff`` shows it.
    The app must have been made with ``--approval-mode auto-edit``."""
    (workspace / "a.txt").write_text("old\n")
    server.add(
        ScriptedReply(tool_calls=(call("write_file", "w1", path="a.txt", content="new\n"),)),
        ScriptedReply(text="edited"),
    )
    await type_text(pilot, "edit a.txt")
    await pilot.press("enter")
    await wait_for(pilot, lambda: not app.engine.busy and "edited" in screen_text(app))
    await type_text(pilot, "/diff")
    await pilot.press("enter")
    await wait_for(pilot, lambda: "+new" in screen_text(app))
