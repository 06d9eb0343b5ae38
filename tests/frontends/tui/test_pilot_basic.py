"""Pilot: a prompt goes in, the answer streams in as Markdown, then settles."""

from __future__ import annotations

from hermes.frontends.tui.blocks import AssistantBlock
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, screen_text, type_text, wait_for


async def test_send_prompt_and_see_streamed_answer(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    text = "Hello **there**.\n\n```python\nprint('hi')\n```\n"
    server.add(
        ScriptedReply(
            text=text,
            chunk_size=3,
            stall_after_chunks=9,
            # Long enough for a loaded machine to paint the partial answer mid-stall.
            stall_seconds=3.0,
            reasoning="thinking hard",
        )
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "hi")
        await pilot.press("enter")

        def block() -> AssistantBlock | None:
            found = list(app.conversation.query(AssistantBlock))
            return found[0] if found else None

        # Mid-stream (the server stalls): the Markdown widget holds what has arrived.
        await wait_for(pilot, lambda: server.stalls >= 1)
        partial = app.transcript.entries[-1]
        await wait_for(
            pilot,
            lambda: (
                (b := block()) is not None
                and b.markdown is not None
                and b.source == getattr(partial, "text", None)
            ),
        )
        assert 0 < len(block().source) < len(text)  # type: ignore[union-attr]
        await wait_for(pilot, lambda: not app.engine.busy and "print('hi')" in screen_text(app))
        b = block()
        assert b is not None and b.markdown is None and b.source == text
        shown = screen_text(app)
        assert "› hi" in shown and "Hello there." in shown
        assert "thinking" in shown and "thinking hard" not in shown  # reasoning is collapsed
    assert server.requests[0].messages[-1]["content"] == "hi"


async def test_input_is_live_before_the_session_opens(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    """As launched by ``hermes``: the screen comes first, the engine loads behind it; a
    message typed meanwhile is sent once the session is open."""
    server.add(ScriptedReply(text="there you are"))
    app = make_app(deferred=True)
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "early bird")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "there you are" in screen_text(app))
        assert "› early bird" in screen_text(app)
    assert server.requests[0].messages[-1]["content"] == "early bird"


async def test_a_long_reply_streams_through_a_bounded_view(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    from hermes.frontends.tui.blocks import FREEZE_CHARS, FREEZE_STEP

    paragraph = "A paragraph of the long answer, with `code` and **bold** words in it.\n\n"
    text = paragraph * 150 + "The end."
    half = len(text) // 2 // 400
    server.add(ScriptedReply(text=text, chunk_size=400, stall_after_chunks=half, stall_seconds=30))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "write a lot")
        await pilot.press("enter")
        await wait_for(pilot, lambda: server.stalls >= 1)
        blocks = list(app.conversation.query(AssistantBlock))

        def bounded() -> bool:
            block = blocks[0]
            streamed = block.entry.text
            return (
                block.source == streamed
                and block.markdown is None  # long: no Markdown widget per paragraph
                and bool(block._frozen)
                and len(streamed) - block._frozen_upto < FREEZE_STEP + len(paragraph)
            )

        # The finished paragraphs are frozen in a few views; only the open end is live.
        await wait_for(pilot, bounded)
        assert len(blocks[0]._frozen) <= len(blocks[0].entry.text) // FREEZE_STEP
        assert len(blocks[0].entry.text) > FREEZE_CHARS
        await pilot.press("escape")  # interrupted: the partial reply settles into one view
        await wait_for(pilot, lambda: not app.engine.busy and blocks[0]._tail is None)
        partial = blocks[0].entry.text
        assert blocks[0].source == partial and 0 < len(partial) < len(text)
        assert blocks[0]._frozen == [] and "interrupted" in screen_text(app)
