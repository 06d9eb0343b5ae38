from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hermes.messages import Message, ToolCall
from hermes.store import ModelCallRecord, SessionNotFound, Store, StoreError
from hermes.store_schema import SCHEMA_VERSION


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "h.db")


def test_pragmas_are_durable(store: Store) -> None:
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_messages_round_trip_in_openai_shape(store: Store) -> None:
    s = store.create_session("/w", "m", "ask")
    call = ToolCall("c1", "read_file", '{"path": "a"}')
    msgs = [
        Message("user", "hi"),
        Message("assistant", None, (call,)),
        Message("tool", "content", tool_call_id="c1"),
        Message("assistant", "done"),
    ]
    for m in msgs:
        store.append_message(s.id, m)
    loaded = store.load_messages(s.id)
    assert [m.message for m in loaded] == msgs
    assert [m.seq for m in loaded] == [0, 1, 2, 3]
    assert loaded[1].message.to_openai() == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a"}'}}
        ],
    }
    assert store.get_session(s.id).message_count == 4
    assert store.call_states(s.id)["c1"].status == "done"


def test_interrupted_flag_kept(store: Store) -> None:
    s = store.create_session("/w", "m", "ask")
    store.append_message(s.id, Message("assistant", "partial"), interrupted=True)
    assert store.load_messages(s.id)[0].interrupted


def test_prefix_lookup(store: Store) -> None:
    a = store.create_session("/w", "m", "ask")
    assert store.get_session(a.id[:6]).id == a.id
    with pytest.raises(SessionNotFound, match="no session"):
        store.get_session("zzzz")


def test_list_newest_first_and_by_workspace(store: Store) -> None:
    a = store.create_session("/w1", "m", "ask")
    b = store.create_session("/w2", "m", "ask")
    store.append_message(a.id, Message("user", "later"))
    assert [s.id for s in store.list_sessions()] == [a.id, b.id]
    assert [s.id for s in store.list_sessions(workspace="/w2")] == [b.id]


def test_model_calls_recorded_and_tokens_summed(store: Store) -> None:
    s = store.create_session("/w", "m", "ask")
    rec = ModelCallRecord("m", 1200, 3, 12.5, 1, 100, 20, "stop", "", "{}", created_at=5.0)
    store.record_model_call(s.id, rec)
    assert store.model_calls(s.id) == [rec]
    got = store.get_session(s.id)
    assert (got.prompt_tokens, got.completion_tokens) == (100, 20)


def test_newer_schema_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 5,))
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer hermes"):
        Store(path)
    assert path.read_bytes() == before


def test_corrupt_file_is_a_clear_error_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    path.write_bytes(b"this is not a database at all" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError) as info:
        Store(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


def test_append_to_unknown_session_fails(store: Store) -> None:
    with pytest.raises(SessionNotFound):
        store.append_message("nope", Message("user", "x"))
