"""Pilot: the smaller defects of issue 17 (defect 10), one test each."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual.widgets import Markdown

from hermes.frontends.tui.blocks import NoticeBlock
from hermes.frontends.tui.pending import PendingList
from hermes.frontends.tui.status import StatusBar
from hermes.frontends.tui.tool_block import ToolBlock
from hermes.store.sessions import open_store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import (
    SIZE,
    MakeApp,
    _text_of,
    call,
    edit_then_diff,
    screen_text,
    type_text,
    wait_for,
)
from tests.frontends.tui.test_approvals import send
from tests.frontends.tui.test_commands import seed


def tool_text(app, call_id: str) -> str:  # type: ignore[no-untyped-def]
    for block in app.conversation.query(ToolBlock):
        if block.entry.call_id == call_id:
            return _text_of(block)
    return ""


async def test_an_unknown_context_window_is_said_once_not_every_session(
    server: ScriptedServer, make_app: MakeApp, hermes_home: Path
) -> None:
    (hermes_home / "config.yaml").write_text(
        "model:\n  retry_base_delay: 0.01\n  retry_max_delay: 0.05\n"
    )
    server.context_window = None  # its /models says nothing about the window
    for i in range(4):
        server.add(ScriptedReply(text=f"answer {i}"))
    said = "context window of"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "one")
        await wait_for(pilot, lambda: not app.engine.busy and "answer 0" in screen_text(app))
        await send(pilot, "two")
        await wait_for(pilot, lambda: not app.engine.busy and "answer 1" in screen_text(app))
        assert screen_text(app).count(said) == 1
    app = make_app()  # the next session: the same model, nothing new to say
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "three")
        await wait_for(pilot, lambda: not app.engine.busy and "answer 2" in screen_text(app))
        await send(pilot, "four")
        await wait_for(pilot, lambda: not app.engine.busy and "answer 3" in screen_text(app))
        assert said not in screen_text(app)


async def test_a_denial_is_said_once(server: ScriptedServer, make_app: MakeApp) -> None:
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch x.txt"),)),
        ScriptedReply(text="Left it."),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "touch it")
        await wait_for(pilot, lambda: bool(app.transcript.approvals))
        await pilot.pause(0.05)
        await pilot.press("n")
        await wait_for(pilot, lambda: not app.engine.busy and "Left it." in screen_text(app))
        shown = tool_text(app, "t1")
        # The header says "denied"; one line says who and why. Nothing else repeats it.
        assert shown.count("denied") == 2 and "denied by the user" in shown


async def test_a_long_capped_output_counts_its_real_lines_and_names_the_file(
    server: ScriptedServer, make_app: MakeApp, hermes_home: Path
) -> None:
    (hermes_home / "config.yaml").write_text(
        "model:\n  retry_base_delay: 0.01\n  retry_max_delay: 0.05\n  context_window: 128000\n"
        "tools:\n  max_output_bytes: 4000\n"
    )
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="seq 1 5000"),)),
        ScriptedReply(text="counted"),
    )
    app = make_app("--approval-mode", "yolo")
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "count")
        await wait_for(pilot, lambda: not app.engine.busy and "counted" in screen_text(app))
        shown = tool_text(app, "t1")
        assert "… 4,99" in shown  # ~5,000 lines printed, a handful shown
        assert "full output: " in shown
        path = shown.split("full output: ", 1)[1].split()[0]
        saved = await asyncio.to_thread(Path(path).read_text)
        assert saved.splitlines()[-1] == "5000"
        assert "\n5000\n" in shown  # the tail is shown


async def test_the_status_line_fits_80_columns(server: ScriptedServer, make_app: MakeApp) -> None:
    title = "investigate why the nightly integration build fails on the arm runners"
    server.add(
        ScriptedReply(tool_calls=(call("terminal", "t1", command="touch x; echo go; sleep 30"),)),
    )
    app = make_app("--approval-mode", "yolo")
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, title)
        await wait_for(pilot, lambda: "go" in getattr(app.transcript.tools.get("t1"), "live", ""))
        await pilot.pause(0.2)
        line = _text_of(app.query_one(StatusBar)).rstrip("\n")
        assert len(line) <= 78
        assert "1 command running" in line and line.rstrip().endswith("sandboxed")
        before = line.split("1 command running", 1)[0]
        assert before.endswith("  ")  # nothing runs into it
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.engine.busy)


async def test_an_interrupted_command_keeps_its_last_lines(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    script = "echo step one; echo step two; echo step three; sleep 30"
    server.add(ScriptedReply(tool_calls=(call("terminal", "t1", command=script),)))
    app = make_app("--approval-mode", "yolo")
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "run it")
        await wait_for(pilot, lambda: "step three" in app.transcript.tools["t1"].live)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.engine.busy and "turn stopped" in screen_text(app))
        await wait_for(pilot, lambda: "interrupted" in tool_text(app, "t1"))  # the next tick
        shown = tool_text(app, "t1")
        assert "step one" in shown and "step three" in shown


async def test_diff_is_coloured(server: ScriptedServer, make_app: MakeApp, workspace: Path) -> None:
    app = make_app("--approval-mode", "auto-edit")
    async with app.run_test(size=SIZE) as pilot:
        await edit_then_diff(pilot, app, server, workspace)
        notice = next(b for b in app.conversation.query(NoticeBlock) if "+new" in _text_of(b))
        content = notice.content
        assert isinstance(content, Text)
        styles = {content.plain[s.start : s.end]: str(s.style) for s in content.spans}
        assert "green" in styles.get("+new", "") and "red" in styles.get("-old", "")


async def test_sessions_with_no_message_are_not_listed(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    from hermes.frontends.common.sessions import find_sessions

    await seed(server, workspace, "a real question", "a real answer")
    store = open_store()
    try:
        empty = store.create_session(str(workspace), "m", "ask")
        ids = [s.id for s in store.list_sessions(workspace=str(workspace), nonempty=True)]
        assert empty.id not in ids and len(ids) == 1
        assert empty.id not in [r.record.id for r in find_sessions(store, workspace)]
    finally:
        store.close()


async def test_quitting_keeps_the_input_and_says_how_to_resume(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(ScriptedReply(text="noted"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "remember this")
        await wait_for(pilot, lambda: not app.engine.busy and "noted" in screen_text(app))
        sid = app.engine.state.id
        await type_text(pilot, "half a thought")
        await pilot.press("ctrl+c", "ctrl+c")
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.controls.resume_line == f"resume this session: hermes --resume {sid}"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        assert app.prompt_input.text == "half a thought"


async def test_esc_does_not_send_queued_messages_which_can_be_edited_or_dropped(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(
        ScriptedReply(text="a slow answer", stall_after_chunks=1, stall_seconds=30),
        ScriptedReply(text="about the edited one"),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pending = app.query_one(PendingList)
        await send(pilot, "start")
        await wait_for(pilot, lambda: server.stalls >= 1)
        await send(pilot, "first follow-up")
        await send(pilot, "second follow-up")
        assert pending.items == ["first follow-up", "second follow-up"]
        await pilot.press("escape")  # stops the turn...
        await wait_for(pilot, lambda: not app.engine.busy)
        await pilot.pause(0.2)
        assert len(server.requests) == 1  # ...and sends nothing
        assert pending.items == ["first follow-up", "second follow-up"]
        await pilot.press("up")  # the newest comes back to the input
        assert app.prompt_input.text == "second follow-up"
        assert pending.items == ["first follow-up"]
        app.prompt_input.load_text("")  # dropped
        await pilot.press("up")
        assert app.prompt_input.text == "first follow-up"
        app.prompt_input.load_text("the edited follow-up")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "about the edited one" in screen_text(app))
    sent = [m["content"] for m in server.requests[-1].messages if m["role"] == "user"]
    assert sent == ["start", "the edited follow-up"]


async def test_a_heading_stays_left_while_it_streams(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    text = "# The Plan\n\nFirst this, then that.\n\nAnd more"
    server.add(
        ScriptedReply(text=text, chunk_size=len(text) - 4, stall_after_chunks=2, stall_seconds=30)
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "plan")
        await wait_for(pilot, lambda: server.stalls >= 1)
        await wait_for(pilot, lambda: bool(list(app.conversation.query("MarkdownH1"))))
        h1 = next(iter(app.conversation.query("MarkdownH1")))
        assert isinstance(h1.parent, Markdown) or h1.parent is not None
        assert h1.styles.content_align_horizontal == "left"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.engine.busy)


async def test_the_first_screen_is_never_blank(
    server: ScriptedServer, make_app: MakeApp, workspace: Path
) -> None:
    earlier = await seed(server, workspace, "fix the login test", "Done.")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "last session" in screen_text(app))
        shown = screen_text(app)
    assert str(workspace.name) in shown
    assert "gpt-4o-mini" in shown and "127.0.0.1" in shown  # model and endpoint
    assert "approvals  ask" in shown and "sandbox" in shown
    assert f"hermes --resume {earlier}" in shown and "fix the login test" in shown
    assert "Ctrl+F" in shown and "/help" in shown
