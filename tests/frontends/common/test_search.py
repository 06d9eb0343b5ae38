"""The conversation search and entries in full as plain text."""

from __future__ import annotations

import asyncio

import pytest

from hermes.frontends.common import search as search_module
from hermes.frontends.common.search import ConversationSearch, Hit, entry_text, pretty_arguments
from hermes.frontends.common.transcript import AssistantEntry, NoticeEntry, ToolEntry, UserEntry


def test_arguments_read_as_lines_not_json() -> None:
    args = '{"path": "a.py", "content": "x = 1\\ny = 2", "replace_all": true}'
    assert pretty_arguments(args) == "path: a.py\ncontent:\n    x = 1\n    y = 2\nreplace_all: true"
    assert pretty_arguments("not json") == "not json"


def test_a_call_in_full() -> None:
    tool = ToolEntry(
        call_id="c1",
        name="terminal",
        arguments='{"command": "make"}',
        state="failed",
        output="boom\n[exit code 2]",
        exit_code=2,
        duration=1.5,
    )
    assert entry_text(tool) == (
        "● terminal [c1] failed · exit 2 · 1.5s\n  command: make\n  ── output ──\n"
        "  boom\n  [exit code 2]"
    )


def test_search_is_case_insensitive_over_everything_and_sees_changes() -> None:
    entries = [
        UserEntry(text="Fix the Login test"),
        ToolEntry(call_id="c", name="read_file", arguments='{"path": "login.py"}', state="done"),
        AssistantEntry(text="done", reasoning="the LOGIN form"),
        NoticeEntry(text="nothing"),
    ]
    search = ConversationSearch()
    assert search.find(entries, "login") == [Hit(0, 8), Hit(1, 20), Hit(2, 4)]
    assert search.find(entries, "") == []
    entries[3].text = "login again"  # type: ignore[attr-defined]
    assert [h.index for h in search.find(entries, "login")] == [0, 1, 2, 3]


async def test_find_soon_finds_what_find_does_giving_the_loop_a_turn_between_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search_module, "SEARCH_CHUNK", 2)
    entries = [UserEntry(text=f"entry {i} {'login' if i % 3 else ''}") for i in range(7)]
    turns: list[int] = []  # turns another task had while the search ran

    async def other_work() -> None:
        for turn in range(10):
            turns.append(turn)
            await asyncio.sleep(0)

    search = ConversationSearch()
    other = asyncio.create_task(other_work())
    searched = await search.find_soon(entries, "LOGIN")
    during = len(turns)
    await other
    assert searched == search.find(entries, "login") == [Hit(i, 8) for i in (1, 2, 4, 5)]
    assert during >= 3  # 7 entries in chunks of 2: the loop turned between them
    assert await search.find_soon(entries, "") == []


async def test_prepare_lowers_every_text_ahead_of_the_first_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entries = [UserEntry(text="Fix the Login test"), NoticeEntry(text="nothing")]
    search = ConversationSearch()
    await search.prepare(entries)

    def not_again(entry: object) -> str:
        raise AssertionError("lowered again")

    monkeypatch.setattr(search_module, "search_text", not_again)
    assert search.find(entries, "login") == [Hit(0, 8)]
