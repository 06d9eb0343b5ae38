"""``Store.search``: FTS5 over message text and tool output, ranked, with snippets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hermes.messages import Message, ToolCall
from hermes.store.records import HIT_END, HIT_START
from hermes.store.search import fts_query
from hermes.store.sessions import SearchHit, Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "h.db")
    yield s
    s.close()


def fill(store: Store) -> tuple[str, str]:
    a = store.create_session("/work/a", "m", "ask", title="fix the parser")
    b = store.create_session("/work/b", "m", "ask", title="deploy")
    store.append_message(a.id, Message("user", "the tokenizer crashes on unicode input"))
    call = ToolCall("c1", "terminal", '{"command": "pytest -k tokenizer"}')
    store.append_message(a.id, Message("assistant", None, (call,)))
    store.append_message(
        a.id,
        Message(
            "tool", "FAILED test_tokenizer.py::test_emoji - UnicodeDecodeError", tool_call_id="c1"
        ),
    )
    store.append_message(b.id, Message("user", "deploy the tokenizer service to staging"))
    store.append_message(
        b.id, Message("assistant", "Deployed. The tokenizer tokenizer tokenizer is live.")
    )
    return a.id, b.id


def test_hits_carry_session_seq_role_title_and_marked_snippet(store: Store) -> None:
    a, _ = fill(store)
    hits = store.search("UnicodeDecodeError")
    assert hits == [
        SearchHit(a, 2, "tool", hits[0].snippet, hits[0].rank, "fix the parser"),
    ]
    assert f"{HIT_START}UnicodeDecodeError{HIT_END}" in hits[0].snippet
    assert "\n" not in hits[0].snippet


def test_ranked_best_first_and_filtered_by_workspace(store: Store) -> None:
    a, b = fill(store)
    hits = store.search("tokenizer")
    assert len(hits) == 4
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)
    assert (hits[0].session_id, hits[0].seq) == (b, 1)  # says it three times
    assert {h.session_id for h in store.search("tokenizer", workspace="/work/a")} == {a}
    assert len(store.search("tokenizer", limit=2)) == 2


def test_words_are_anded_and_prefix_works(store: Store) -> None:
    fill(store)
    assert [h.seq for h in store.search("tokenizer staging")] == [0]
    assert {h.role for h in store.search("unicod*")} == {"user", "tool"}
    assert store.search("tokenizer nonexistentword") == []


@pytest.mark.parametrize(
    "query",
    [
        'foo-bar "x',
        '"',
        "*",
        "AND",
        "OR NOT",
        "NEAR(a b",
        "content:x",
        "^start",
        "a'b",
        "--",
        "",
        "   ",
        "(",
        ")))",
        "\x00",
    ],
)
def test_hostile_queries_never_raise(store: Store, query: str) -> None:
    fill(store)
    assert isinstance(store.search(query), list)


def test_query_syntax_is_taken_literally(store: Store) -> None:
    s = store.create_session("/w", "m", "ask")
    store.append_message(s.id, Message("user", "use foo-bar then NOT this"))
    assert len(store.search("foo-bar")) == 1
    assert len(store.search("NOT")) == 1  # a word, not an operator
    assert fts_query('say "hi"') == '"say" """hi"""'
    assert fts_query("-- ** ::") is None


def test_assistant_message_without_text_is_not_indexed_but_its_result_is(store: Store) -> None:
    s = store.create_session("/w", "m", "ask")
    store.append_message(
        s.id, Message("assistant", None, (ToolCall("c", "read_file", '{"path": "zeta.txt"}'),))
    )
    store.append_message(s.id, Message("tool", "zeta contents", tool_call_id="c"))
    assert [h.role for h in store.search("zeta")] == ["tool"]
