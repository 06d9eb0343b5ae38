"""Snapshots at a fixed terminal size (pytest-textual-snapshot).

Content is deterministic: fixed clocks (elapsed 0.0s, ages "just now"), fixed token
usage, fixed call ids, relative paths only, no cursor blink; the first screen's
workspace is under a fixed home, its endpoint and resume hint fixed. Update with
``pytest tests/frontends/tui --snapshot-update`` after checking the new pictures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.approval import ApprovalBar
from hermes.frontends.tui.blocks import AssistantBlock
from hermes.frontends.tui.picker import SessionPicker
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import MakeApp, call, type_text, wait_for
from tests.frontends.tui.test_commands import seed

SNAP_SIZE = (100, 30)
USAGE = (1200, 40)

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def fixed_places(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The first screen and status line name the workspace, endpoint and last session:
    make them the same on every run (the workspace shows as ``~/ws``)."""
    from hermes.frontends.tui import controls

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(controls, "endpoint_label", lambda url: "127.0.0.1:8080")
    monkeypatch.setattr(controls, "resume_hint", lambda *args: "")


def first_screen_done(app: HermesApp) -> bool:
    """The first screen has what the open session tells it."""
    return app.link.ready and bool(app.controls.welcome.welcome.sandbox)


def prompt_then(text: str, ready: Callable[[HermesApp], bool]) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, HermesApp)
        await wait_for(pilot, lambda: first_screen_done(app))
        await type_text(pilot, text)
        await pilot.press("enter")
        await wait_for(pilot, lambda: ready(app))
        await pilot.pause(0.3)

    return run_before


def test_first_screen(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    async def opened(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, HermesApp)
        await wait_for(pilot, lambda: first_screen_done(app))
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=SNAP_SIZE, run_before=opened)


def test_streaming_answer(
    snap_compare: SnapCompare, server: ScriptedServer, make_app: MakeApp
) -> None:
    text = "Sure. Here is the plan:\n\n1. read the code\n2. write a test\n\n```python\ndef test_it():\n    assert add(1, 2) == 3\n```\n\nThen I will run the"
    server.add(
        ScriptedReply(
            text=text + " whole suite.",
            chunk_size=len(text),
            stall_after_chunks=2,
            stall_seconds=30,
            usage=USAGE,
        )
    )

    def streamed(app: HermesApp) -> bool:
        blocks = list(app.conversation.query(AssistantBlock))
        return bool(blocks) and blocks[0].markdown.source == text

    assert snap_compare(
        make_app(), terminal_size=SNAP_SIZE, run_before=prompt_then("make a plan", streamed)
    )


def test_running_command(
    snap_compare: SnapCompare, server: ScriptedServer, make_app: MakeApp
) -> None:
    script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo building step $i; done; sleep 30"
    server.add(
        ScriptedReply(
            text="Building it now.",
            tool_calls=(call("terminal", "t1", command=script),),
            usage=USAGE,
        )
    )
    app = make_app("--approval-mode", "yolo")

    def running(app: HermesApp) -> bool:
        tool = app.transcript.tools.get("t1")
        return tool is not None and tool.state == "running" and "step 12" in tool.live

    assert snap_compare(app, terminal_size=SNAP_SIZE, run_before=prompt_then("build it", running))


def test_approval_with_a_diff(
    snap_compare: SnapCompare, server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "app.py").write_text("def add(a, b):\n    return a - b\n\n\nprint(add(1, 2))\n")
    patch = call("patch", "p1", path="app.py", old_string="return a - b", new_string="return a + b")
    server.add(
        ScriptedReply(text="The sign is wrong; fixing it.", tool_calls=(patch,), usage=USAGE)
    )

    def asking(app: HermesApp) -> bool:
        return isinstance(app.focused, ApprovalBar) and app.focused.active

    assert snap_compare(
        make_app(), terminal_size=SNAP_SIZE, run_before=prompt_then("fix add", asking)
    )


def test_approval_for_a_catastrophic_command(
    snap_compare: SnapCompare, server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(
        ScriptedReply(
            text="Cleaning up.",
            tool_calls=(call("terminal", "t1", command="rm -rf ~"),),
            usage=USAGE,
        )
    )

    def asking(app: HermesApp) -> bool:
        return isinstance(app.focused, ApprovalBar) and app.focused.active

    app = make_app("--approval-mode", "yolo")
    assert snap_compare(app, terminal_size=SNAP_SIZE, run_before=prompt_then("clean up", asking))


def test_error_notice(snap_compare: SnapCompare, server: ScriptedServer, make_app: MakeApp) -> None:
    server.add(*[ScriptedReply(status=503, text="the model is overloaded") for _ in range(5)])

    def stopped(app: HermesApp) -> bool:
        return not app.engine.busy and any(
            getattr(e, "level", "") == "error" for e in app.transcript.entries
        )

    assert snap_compare(
        make_app(), terminal_size=SNAP_SIZE, run_before=prompt_then("hello", stopped)
    )


def test_session_picker(
    snap_compare: SnapCompare, server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    for prompt in (
        "fix the flaky login test",
        "add a --json flag to the CLI",
        "why is the build slow?",
    ):
        asyncio.run(seed(server, workspace, prompt, "Done."))
    app = make_app("--resume")

    async def listed(pilot: Pilot[Any]) -> None:
        await wait_for(
            pilot,
            lambda: isinstance(pilot.app.screen, SessionPicker) and len(pilot.app.screen.rows) == 3,
        )

    assert snap_compare(app, terminal_size=SNAP_SIZE, run_before=listed)


def test_transcript_view(
    snap_compare: SnapCompare, server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "notes.txt").write_text("".join(f"note {i}\n" for i in range(1, 9)))
    server.add(
        ScriptedReply(
            text="Reading your notes.",
            tool_calls=(call("read_file", "r1", path="notes.txt"),),
            usage=USAGE,
        ),
        ScriptedReply(text="There are **eight** notes.", usage=USAGE),
    )

    async def opened(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, HermesApp)
        await prompt_then(
            "how many notes?",
            lambda a: not a.engine.busy and a.transcript.status.completion_tokens > 40,
        )(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=SNAP_SIZE, run_before=opened)


def test_search(snap_compare: SnapCompare, server: ScriptedServer, make_app: MakeApp) -> None:
    server.add(
        ScriptedReply(text="The retry loop lives in `client.py`.", usage=USAGE),
        ScriptedReply(text="Backoff doubles each time, up to 30 s.", usage=USAGE),
    )

    async def searched(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, HermesApp)
        await prompt_then("where is the retry loop?", lambda a: not a.engine.busy)(pilot)
        await prompt_then(
            "and the backoff?",
            lambda a: not a.engine.busy and "30 s" in str(a.transcript.entries[-1]),
        )(pilot)
        await pilot.press("ctrl+f")
        await type_text(pilot, "retry")
        await wait_for(pilot, lambda: bool(app.search_bar.hits))
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=SNAP_SIZE, run_before=searched)
