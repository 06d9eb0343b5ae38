"""Pilot: a stream that dies and is retried (issue 17, defect 6): what streamed stays on
screen until the retry brings new text, no empty block is left behind, and sending a
failed message again does not send it twice."""

from __future__ import annotations

from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.blocks import AssistantBlock
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, _text_of, screen_text, wait_for
from tests.frontends.tui.test_approvals import send

PARTIAL = "The first half of an answer that the server cut off"


def answers(app: HermesApp) -> list[str]:
    """The text of each reply block that shows anything."""
    return [
        _text_of(b).strip()
        for b in app.conversation.query(AssistantBlock)
        if b.display and _text_of(b).strip()
    ]


def empty_answer_blocks(app: HermesApp) -> int:
    return sum(
        1 for b in app.conversation.query(AssistantBlock) if b.display and not _text_of(b).strip()
    )


async def test_a_retry_keeps_the_streamed_text_until_new_text_comes(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(
        ScriptedReply(text=PARTIAL + " and the rest.", chunk_size=10, cut_after_chunks=5),
        # The retry takes a moment before its first byte: the old text must stay.
        ScriptedReply(text="The whole answer, this time.", delay_seconds=1.0),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "explain")
        await wait_for(pilot, lambda: len(server.requests) == 2)
        await pilot.pause(0.2)
        shown = "\n".join(answers(app))
        assert "The first half" in shown  # not wiped while the retry waits
        assert empty_answer_blocks(app) == 0
        await wait_for(pilot, lambda: not app.engine.busy)
        await pilot.pause(0.2)
        assert answers(app) == ["The whole answer, this time."]
        assert empty_answer_blocks(app) == 0


async def test_a_failed_stream_leaves_its_text_and_no_empty_block(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(
        ScriptedReply(text=PARTIAL + " and the rest.", chunk_size=10, cut_after_chunks=5),
        *[ScriptedReply(status=503, text="overloaded") for _ in range(6)],
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "explain")
        await wait_for(pilot, lambda: not app.engine.busy and "turn stopped" in screen_text(app))
        await pilot.pause(0.2)
        assert empty_answer_blocks(app) == 0
        shown = "\n".join(answers(app))
        assert "The first half" in shown and "request failed" in shown


async def test_sending_a_failed_message_again_sends_it_once(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(
        *[ScriptedReply(status=503, text="overloaded") for _ in range(5)],
        ScriptedReply(text="Here you are."),
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "what time is it")
        await wait_for(pilot, lambda: not app.engine.busy and "turn stopped" in screen_text(app))
        assert empty_answer_blocks(app) == 0
        await pilot.press("up", "enter")  # the same message again
        await wait_for(pilot, lambda: "Here you are." in screen_text(app))
        assert screen_text(app).count("› what time is it") == 1
    sent = [m for m in server.requests[-1].messages if m["role"] != "system"]
    assert sent == [{"role": "user", "content": "what time is it"}]
