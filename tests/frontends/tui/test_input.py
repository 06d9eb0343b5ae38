"""Pilot: the input box (history, completion, pastes, queueing while busy) and quitting."""

from __future__ import annotations

from pathlib import Path

from textual import events

from hermes.frontends.tui.input_box import CompletionMenu, PromptInput
from hermes.frontends.tui.pending import PendingList
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, _text_of, screen_text, type_text, wait_for
from tests.frontends.tui.test_approvals import send


async def test_history_survives_sessions(server: ScriptedServer, make_app: MakeApp) -> None:
    server.add(ScriptedReply(text="one"), ScriptedReply(text="two"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "first question")
        await wait_for(pilot, lambda: not app.engine.busy and "one" in screen_text(app))
        await send(pilot, "second question")
        await wait_for(pilot, lambda: not app.engine.busy and "two" in screen_text(app))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        box = app.query_one(PromptInput)
        await type_text(pilot, "draft")
        await pilot.press("up")
        assert box.text == "second question"
        await pilot.press("up")
        assert box.text == "first question"
        await pilot.press("down", "down")
        assert box.text == "draft"


async def test_slash_and_path_completion(make_app: MakeApp, workspace: Path) -> None:
    (workspace / "src").mkdir()
    (workspace / "src" / "engine.py").write_text("")
    (workspace / "README.md").write_text("")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        box = app.query_one(PromptInput)
        menu = app.query_one(CompletionMenu)
        await type_text(pilot, "/res")
        assert menu.display and menu.chosen is not None and menu.chosen.value == "/resume"
        await pilot.press("tab")
        assert box.text == "/resume" and not menu.display
        box.load_text("")
        await type_text(pilot, "look at @eng")
        await wait_for(pilot, lambda: menu.display and menu.chosen is not None)
        assert menu.chosen is not None and menu.chosen.label == "src/engine.py"
        await pilot.press("enter")  # takes the completion, does not send
        assert box.text == "look at @src/engine.py "
        await pilot.press("escape")
        assert box.text == "look at @src/engine.py "


async def test_multiline_and_long_paste(server: ScriptedServer, make_app: MakeApp) -> None:
    server.add(ScriptedReply(text="got it"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        box = app.query_one(PromptInput)
        await type_text(pilot, "line one")
        await pilot.press("ctrl+j")
        await type_text(pilot, "line two")
        assert box.text == "line one\nline two"
        pasted = "\n".join(f"row {i}" for i in range(30))
        box.post_message(events.Paste(pasted))
        await pilot.pause()
        assert "[pasted 30 lines #1]" in box.text
        await pilot.press("enter")
        await wait_for(pilot, lambda: "got it" in screen_text(app))
    sent = server.requests[0].messages[-1]["content"]
    assert sent.startswith("line one\nline two") and "row 29" in sent


async def test_typing_while_the_agent_works_is_queued_then_delivered(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(
        ScriptedReply(text="working on it", stall_after_chunks=1, stall_seconds=1.0),
        ScriptedReply(text="and your follow-up too"),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "start")
        await wait_for(pilot, lambda: app.engine.busy and server.stalls >= 1)
        await send(pilot, "also this")
        queued = app.query_one(PendingList)
        assert queued.display and "also this" in _text_of(queued)
        await wait_for(pilot, lambda: "and your follow-up too" in screen_text(app))
        assert not queued.display
        text = screen_text(app)
        assert text.index("working on it") < text.index("› also this") < text.index("follow-up")
    last = server.requests[1].messages
    assert last[-1] == {"role": "user", "content": "also this"}


async def test_esc_then_enter_interrupts_and_sends_at_once(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(
        ScriptedReply(text="a slow answer", stall_after_chunks=1, stall_seconds=10),
        ScriptedReply(text="changed course"),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "start")
        await wait_for(pilot, lambda: server.stalls >= 1)
        await type_text(pilot, "stop and do this")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.engine.busy)
        assert app.query_one(PromptInput).text == "stop and do this"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "changed course" in screen_text(app))
        assert "interrupted" in screen_text(app)
    assert server.rejections == []


async def test_endpoint_down_is_a_readable_notice(
    make_app: MakeApp, server: ScriptedServer
) -> None:
    server.add(*[ScriptedReply(status=503, text="overloaded") for _ in range(6)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hi")
        await wait_for(pilot, lambda: not app.engine.busy and "turn stopped" in screen_text(app))
        text = screen_text(app)
        assert "✗" in text and "503" in text and "Traceback" not in text


async def test_ctrl_c_twice_quits(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.return_code is None
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.return_code is not None)


async def test_ctrl_d_on_empty_input_quits(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "ab")
        await pilot.press("home", "ctrl+d")
        assert app.query_one(PromptInput).text == "b"
        await pilot.press("ctrl+d")
        assert app.return_code is None
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: app.return_code is not None)
