"""Ctrl+F: only the latest query is searched, and its count is drawn before the view moves."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from textual.widgets import Input

from hermes.frontends.common.search import Hit
from hermes.frontends.common.transcript import Entry
from hermes.frontends.tui.app import HermesApp
from hermes.frontends.tui.search_bar import SearchBar
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.frontends.tui.conftest import SIZE, MakeApp, _text_of, type_text, wait_for

QUERY = "retry loop"


def record_searches(bar: SearchBar, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queries whose search over the session ran to the end."""
    done: list[str] = []
    real = bar.search.find_soon

    async def find_soon(entries: Sequence[Entry], query: str, limit: int = 10_000) -> list[Hit]:
        hits = await real(entries, query, limit)
        done.append(query)
        return hits

    monkeypatch.setattr(bar.search, "find_soon", find_soon)
    return done


async def answered(pilot: object, app: HermesApp) -> None:
    await type_text(pilot, "where")  # type: ignore[arg-type]
    await pilot.press("enter")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: not app.engine.busy and len(app.transcript.entries) >= 3)  # type: ignore[arg-type]


async def test_a_query_that_comes_in_one_go_is_searched_once(
    server: ScriptedServer, make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add(ScriptedReply(text="The retry loop lives in client.py."))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await answered(pilot, app)
        await pilot.press("ctrl+f")
        bar = app.search_bar
        searched = record_searches(bar, monkeypatch)
        # A paste, or keys faster than the screen: one change after another, no turn of
        # the event loop between them.
        for end in range(1, len(QUERY) + 1):
            bar.on_input_changed(Input.Changed(bar._field, QUERY[:end]))
        await wait_for(pilot, lambda: "1 of 1" in _text_of(bar))
        await pilot.pause(0.1)
        assert searched == [QUERY]
        assert bar.needle == QUERY and [h.index for h in bar.hits] == [2]


async def test_typed_key_by_key_the_last_search_is_for_the_whole_query(
    server: ScriptedServer, make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add(ScriptedReply(text="The retry loop lives in client.py."))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await answered(pilot, app)
        await pilot.press("ctrl+f")
        searched = record_searches(app.search_bar, monkeypatch)
        await type_text(pilot, QUERY)
        await wait_for(pilot, lambda: "1 of 1" in _text_of(app.search_bar))
        await pilot.pause(0.1)
        assert searched[-1] == QUERY and len(searched) <= len(QUERY)


async def test_the_count_is_drawn_before_the_view_moves_to_the_match(
    server: ScriptedServer, make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add(ScriptedReply(text="The retry loop lives in client.py."))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await answered(pilot, app)
        await pilot.press("ctrl+f")
        bar = app.search_bar
        counts: list[str] = []
        real = app.conversation.show_entry

        async def show_entry(index: int) -> None:
            counts.append(_text_of(bar))
            await real(index)

        monkeypatch.setattr(app.conversation, "show_entry", show_entry)
        bar.on_input_changed(Input.Changed(bar._field, QUERY))
        await wait_for(pilot, lambda: bool(counts))
        assert "1 of 1" in counts[0]


async def test_opening_the_search_drops_the_pages_not_yet_turned(
    server: ScriptedServer, make_app: MakeApp
) -> None:
    server.add(ScriptedReply(text="The retry loop lives in client.py."))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await answered(pilot, app)
        app.conversation._pages = -40  # a held PageUp, far ahead of the screen
        await pilot.press("ctrl+f")
        assert app.conversation._pages == 0 and app.search_bar.display
