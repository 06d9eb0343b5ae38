"""How a streaming reply is drawn: coalesced, paced around the keys, cheap per piece.

Nothing here times anything: draws are counted (the Markdown's appends), and the
pacer's clock is a number the test sets.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hermes.frontends.common.transcript import AssistantEntry
from hermes.frontends.tui import blocks
from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.blocks import AssistantBlock, StreamPacer
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, type_text, wait_for

FIRST = "Here is the plan:\n\n1. read the code\n"


async def stalled_reply(pilot: object, app: HermesApp, server: ScriptedServer) -> AssistantBlock:
    """Send a message whose reply streams ``FIRST`` and then stalls; its block."""
    await type_text(pilot, "plan")  # type: ignore[arg-type]
    await pilot.press("enter")  # type: ignore[attr-defined]

    def drawn() -> bool:
        found = list(app.conversation.query(AssistantBlock))
        return bool(found) and found[0].source == FIRST

    await wait_for(pilot, drawn)  # type: ignore[arg-type]
    return next(iter(app.conversation.query(AssistantBlock)))


def stalling(server: ScriptedServer) -> None:
    server.add(
        ScriptedReply(
            text=FIRST + "2. write the test\n",
            chunk_size=len(FIRST),
            stall_after_chunks=2,
            stall_seconds=30,
        )
    )


async def test_pieces_that_come_within_a_frame_are_drawn_by_one_append(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    stalling(server)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.stream_pacer.last_key = float("-inf")  # nobody types
        block = await stalled_reply(pilot, app, server)
        md = block.markdown
        assert md is not None
        before = md.appends
        entry = block.entry
        for word in ("2.", " write", " the", " test", "\n"):  # five pieces, no frame between
            entry.text += word
            await app.conversation.changed(entry)
        await wait_for(pilot, lambda: block.source == entry.text)
        assert md.appends == before + 1
        assert md.source == FIRST + "2. write the test\n"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.engine.busy)


async def test_while_typing_a_due_draw_runs_just_after_a_key_is_drawn(
    server: ScriptedServer, make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocks, "KEY_WAIT", 3600.0)  # only a key brings the draw
    stalling(server)
    app = make_app()
    now = [1000.0]
    async with app.run_test(size=SIZE) as pilot:
        app.stream_pacer.clock = lambda: now[0]
        block = await stalled_reply(pilot, app, server)
        md = block.markdown
        assert md is not None
        before = md.appends
        await type_text(pilot, "x")  # typing: the last draw was at 1000.0
        entry = block.entry
        entry.text += "2. write"
        await app.conversation.changed(entry)
        now[0] += blocks.STREAM_INTERVAL_TYPING / 2  # a key before the draw is due
        await type_text(pilot, "y")
        await pilot.pause(0.1)
        assert md.appends == before and block.source == FIRST
        now[0] += blocks.STREAM_INTERVAL_TYPING  # due now: the next key brings it
        await type_text(pilot, "z")
        await wait_for(pilot, lambda: block.source == entry.text)
        assert md.appends == before + 1
        assert app.prompt_input.text == "xyz"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.engine.busy)


def test_the_pacer_runs_a_draw_after_the_first_key_drawn_once_it_is_due() -> None:
    now = [10.0]
    pacer = StreamPacer(clock=lambda: now[0])
    drawn: list[str] = []
    refreshes: list[Callable[[], None]] = []
    assert not pacer.typing()
    pacer.keystroke(refreshes.append)
    assert pacer.typing() and refreshes == []  # nothing waits: nothing to run
    pacer.after_key(lambda: drawn.append("a"), due=10.5)
    pacer.after_key(lambda: drawn.append("b"), due=11.0)
    now[0] = 10.6
    pacer.keystroke(refreshes.append)
    pacer.keystroke(refreshes.append)  # one run after the refresh, however many keys
    assert len(refreshes) == 1 and drawn == []  # not before the key is on screen
    refreshes.pop()()
    assert drawn == ["a"]  # "b" is not due yet
    now[0] = 11.0
    pacer.keystroke(refreshes.append)
    refreshes.pop()()
    assert drawn == ["a", "b"]
    now[0] = 11.2
    assert pacer.typing()
    now[0] = 11.0 + blocks.TYPING_WINDOW + 0.01
    assert not pacer.typing()


def test_a_forgotten_draw_does_not_run() -> None:
    pacer = StreamPacer(clock=lambda: 5.0)
    drawn: list[int] = []

    def draw() -> None:
        drawn.append(1)

    pacer.after_key(draw, due=0.0)
    pacer.forget(draw)
    refreshes: list[Callable[[], None]] = []
    pacer.keystroke(refreshes.append)
    assert refreshes == [] and drawn == []


async def test_a_long_reply_freezes_its_finished_paragraphs_and_shows_it_all(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    paragraph = "Some words of a paragraph that is long enough to count for something.\n\n"
    text = paragraph * 40 + "and the open end"
    server.add(
        ScriptedReply(
            text=text + " of it.", chunk_size=len(text), stall_after_chunks=2, stall_seconds=30
        )
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.stream_pacer.last_key = float("-inf")
        await type_text(pilot, "go")
        await pilot.press("enter")

        def shown() -> bool:
            found = list(app.conversation.query(AssistantBlock))
            return bool(found) and found[0].source == text

        await wait_for(pilot, shown)
        block = next(iter(app.conversation.query(AssistantBlock)))
        assert block.markdown is None and block._tail is not None
        assert block._frozen_upto == text.rindex("\n\n") + 2  # all but the open end
        frozen = "\n".join(view.plain for view in block._frozen)
        assert frozen.count("Some words") == 40 and "open end" in block._tail.plain
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.engine.busy)
    assert isinstance(block.entry, AssistantEntry)
