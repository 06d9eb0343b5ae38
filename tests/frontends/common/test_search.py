"""The conversation search and entries in full as plain text."""

from __future__ import annotations

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
