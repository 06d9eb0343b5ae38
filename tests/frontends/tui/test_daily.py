"""Pilot: what issue 17 builds: the transcript view (Ctrl+T), editing a previous message
(Esc Esc), Shift+Tab approval modes, the status line, ``@path`` attachments."""

from __future__ import annotations

from pathlib import Path

from hermes.frontends.common.modes import approval_cycle
from hermes.frontends.tui.dialogs import ListDialog
from hermes.frontends.tui.status import StatusBar
from hermes.frontends.tui.transcript_view import TranscriptView
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import (
    SIZE,
    MakeApp,
    _text_of,
    call,
    screen_text,
    type_text,
    wait_for,
)
from tests.frontends.tui.test_approvals import send

LONG_OUTPUT = "\n".join(f"line {i} of the build log" for i in range(1, 61))


async def test_the_transcript_view_shows_every_call_in_full_and_searches(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "build.log").write_text(LONG_OUTPUT + "\n")
    server.add(
        ScriptedReply(
            text="Reading the log.",
            tool_calls=(call("read_file", "r1", path="build.log"),),
        ),
        ScriptedReply(text="Line 42 is the one."),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "what broke?")
        await wait_for(pilot, lambda: not app.engine.busy and "Line 42" in screen_text(app))
        assert "line 42 of the build log" not in screen_text(app)  # collapsed on screen
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, TranscriptView))
        view = app.screen
        assert isinstance(view, TranscriptView)
        text = view.text
        assert "› what broke?" in text
        assert "● read_file [r1] done" in text and "path: build.log" in text  # full arguments
        for i in (1, 42, 60):  # the full output
            assert f"line {i} of the build log" in text
        await pilot.press("ctrl+f")
        await type_text(pilot, "line 42 of")
        assert view.matches and view.index == len(view.matches) - 1
        area = view.query_one("#transcript-text")
        assert area.selected_text.lower() == "line 42 of"  # type: ignore[attr-defined]
        await pilot.press("escape")  # the search field closes; the text has the keys
        await pilot.press("ctrl+c")  # copies the selected match
        assert app.clipboard.lower() == "line 42 of"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TranscriptView))
        assert app.focused is app.prompt_input


async def test_esc_esc_goes_back_to_a_message_to_edit_it(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "a.txt").write_text("old\n")
    server.add(
        ScriptedReply(text="First answer."),
        ScriptedReply(tool_calls=(call("write_file", "w1", path="a.txt", content="new\n"),)),
        ScriptedReply(text="Second answer."),
        ScriptedReply(text="An answer to the edited message."),
    )
    app = make_app("--approval-mode", "auto-edit")
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "first question")
        await wait_for(pilot, lambda: not app.engine.busy and "First answer." in screen_text(app))
        await send(pilot, "change a.txt")
        await wait_for(pilot, lambda: not app.engine.busy and "Second answer." in screen_text(app))
        assert (workspace / "a.txt").read_text() == "new\n"
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ListDialog))
        rows = [label for _, label in app.screen.items]  # type: ignore[attr-defined]
        assert "change a.txt" in rows[0] and "first question" in rows[1]  # newest first
        await pilot.press("enter")  # "change a.txt": it changed a file, so confirm
        await wait_for(
            pilot, lambda: isinstance(app.screen, ListDialog) and "a.txt" in app.screen.title_text
        )
        await pilot.press("enter")  # rewind the conversation and restore the file
        await wait_for(pilot, lambda: app.prompt_input.text == "change a.txt")
        await wait_for(pilot, lambda: "Second answer." not in screen_text(app))
        assert "First answer." in screen_text(app)
        assert (workspace / "a.txt").read_text() == "old\n"
        app.prompt_input.load_text("tell me about a.txt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "edited message" in screen_text(app))
    users = [m["content"] for m in server.requests[-1].messages if m["role"] == "user"]
    assert users == ["first question", "tell me about a.txt"]


async def test_shift_tab_cycles_the_approval_mode(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.link.ready and bool(app.transcript.status.sandbox))
        sandboxed = app.engine.state.policy.sandboxed
        cycle = approval_cycle(sandboxed)
        assert cycle[:2] == ("ask", "auto-edit") and ("auto" in cycle) == sandboxed
        assert "yolo" not in cycle
        seen = []
        for _ in range(len(cycle) + 1):
            await pilot.press("shift+tab")
            await pilot.pause(0.05)
            seen.append(app.engine.state.policy.mode)
        assert seen == [*cycle[1:], cycle[0], cycle[1]]  # round and round
        assert seen[-1] in _text_of(app.query_one(StatusBar))
        await send(pilot, "/approvals yolo")  # yolo only this way...
        await wait_for(pilot, lambda: app.engine.state.policy.mode == "yolo")
        await pilot.press("shift+tab")  # ...and Shift+Tab leaves it for ask
        await wait_for(pilot, lambda: app.engine.state.policy.mode == "ask")


async def test_the_status_line_says_where_with_what_and_at_what_cost(
    server: ScriptedServer, make_app: MakeApp, workspace: Path, hermes_home: Path
) -> None:
    (hermes_home / "config.yaml").write_text(
        "model:\n  context_window: 128000\n  pricing: {input: 2.5, output: 10}\n"
    )
    (workspace / ".git").mkdir()
    (workspace / ".git" / "HEAD").write_text("ref: refs/heads/feature/login\n")
    server.add(ScriptedReply(text="hi", usage=(12_000, 1_000)))
    app = make_app()
    async with app.run_test(size=(140, 30)) as pilot:
        await send(pilot, "hello")
        await wait_for(pilot, lambda: not app.engine.busy and "hi" in screen_text(app))
        await pilot.pause(0.1)
        line = _text_of(app.query_one(StatusBar))
    assert "ws (feature/login)" in line
    assert "gpt-4o-mini" in line and "ask" in line and "sandbox" in line
    assert "ctx 13k/128k (10%)" in line and "↑12k ↓1.0k" in line
    assert "$0.04" in line  # 12k * 2.5 + 1k * 10 per million


async def test_an_endpoint_reported_cost_is_shown(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(ScriptedReply(text="hi", usage=(1000, 100), cost=0.0123))
    app = make_app()
    async with app.run_test(size=(140, 30)) as pilot:
        await send(pilot, "hello")
        await wait_for(pilot, lambda: not app.engine.busy and "hi" in screen_text(app))
        await pilot.pause(0.1)
        assert "$0.01" in _text_of(app.query_one(StatusBar))


async def test_at_path_attaches_a_file_and_at_dir_a_listing(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("def main():\n    return 42\n")
    (workspace / "src" / "util.py").write_text("")
    server.add(ScriptedReply(text="seen"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.prompt_input.load_text("explain @src/app.py and @src/ please")
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: "seen" in screen_text(app))
        shown = screen_text(app)
        assert "› explain @src/app.py and @src/ please" in shown
        assert "@ src/app.py · 2 lines" in shown and "@ src/ · 2 entries" in shown
        assert "return 42" not in shown  # a chip, not the content
    sent = server.requests[0].messages[-1]["content"]
    assert sent.startswith('explain @src/app.py and @src/ please\n\n<attachment path="src/app.py"')
    assert "def main():\n    return 42" in sent and "app.py\nutil.py" in sent
