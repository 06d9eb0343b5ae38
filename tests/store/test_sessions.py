from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from hermes.messages import Message, ToolCall
from hermes.store.migrations import MIGRATIONS, SCHEMA_VERSION
from hermes.store.sessions import (
    CallState,
    ModelCallRecord,
    SessionNotFound,
    Store,
    StoreError,
)


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
        "content": "",  # never null: llama-cpp-python answers null with a 500
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "read_file", "arguments": '{"path": "a"}'},
            }
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


def test_ambiguous_prefix_lists_candidates(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter(["abc111", "abc222"])
    monkeypatch.setattr("hermes.store.sessions.new_session_id", lambda: next(ids))
    store.create_session("/w", "m", "ask")
    store.create_session("/w", "m", "ask")
    with pytest.raises(SessionNotFound, match=r"ambiguous.*abc111, abc222"):
        store.get_session("abc")
    assert store.get_session("abc2").id == "abc222"
    with pytest.raises(SessionNotFound, match="no session"):
        store.get_session("ab%")  # LIKE wildcards are not wildcards here


def test_secrets_are_redacted_on_disk_but_not_in_what_is_returned(store: Store) -> None:
    key = "sk-" + "a1B2" * 12
    s = store.create_session("/w", "m", "ask")
    call = ToolCall(
        "c1", "terminal", json.dumps({"command": f"curl -H 'Authorization: Bearer {key}'"})
    )
    returned = store.append_message(s.id, Message("assistant", None, (call,)))
    store.append_message(s.id, Message("tool", f"echo {key}", tool_call_id="c1"))
    store.record_model_call(s.id, ModelCallRecord("m", 1, 1, 1.0, 0, response=f'{{"x": "{key}"}}'))
    assert key in returned.message.tool_calls[0].arguments
    raw = sqlite3.connect(store.path)
    dump = "\n".join(raw.iterdump())
    assert key not in dump
    assert "[REDACTED:" in store.load_messages(s.id)[1].message.content  # type: ignore[operator]
    assert "[REDACTED:" in store.call_states(s.id)["c1"].arguments


def test_draft_is_recovered_as_interrupted_only_if_nothing_followed(store: Store) -> None:
    s = store.create_session("/w", "m", "ask")
    store.append_message(s.id, Message("user", "hi"))
    store.save_draft(s.id, "half an ans")
    store.save_draft(s.id, "half an answer")
    got = store.recover_draft(s.id)
    assert (
        got is not None
        and got.interrupted
        and got.message == Message("assistant", "half an answer")
    )
    assert store.recover_draft(s.id) is None  # consumed
    store.save_draft(s.id, "stale")
    store.append_message(s.id, Message("user", "later"))  # committed after the draft began
    assert store.recover_draft(s.id) is None
    store.save_draft(s.id, "dropped by the reply")
    store.append_message(s.id, Message("assistant", "the whole reply"))
    assert store.recover_draft(s.id) is None
    assert [m.message.content for m in store.load_messages(s.id)] == [
        "hi",
        "half an answer",
        "later",
        "the whole reply",
    ]


def test_failed_write_is_a_store_error_and_leaves_nothing_half_done(store: Store) -> None:
    s = store.create_session("/w", "m", "ask")
    store._db.execute("PRAGMA query_only = 1")  # every write now fails inside SQLite
    call = ToolCall("c1", "read_file", "{}")
    with pytest.raises(StoreError) as info:
        store.append_message(s.id, Message("assistant", None, (call,)))
    assert str(store.path) in str(info.value) and "readonly" in str(info.value)
    store._db.execute("PRAGMA query_only = 0")
    assert store.load_messages(s.id) == []
    assert store.call_states(s.id) == {}
    assert store.get_session(s.id).message_count == 0


def test_version_1_database_is_migrated_and_old_messages_become_searchable(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER)")
    for statement in MIGRATIONS[1]:
        db.execute(statement)
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.execute(
        "INSERT INTO sessions (id, workspace, created_at, updated_at, message_count) VALUES ('s1', '/w', 0, 0, 1)"
    )
    db.execute(
        "INSERT INTO messages (session_id, seq, role, content, created_at) VALUES ('s1', 0, 'user', 'legacy zebra note', 0)"
    )
    db.commit()
    db.close()
    store = Store(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert [h.session_id for h in store.search("zebra")] == ["s1"]
    store.append_message("s1", Message("assistant", "zebra again"))
    assert len(store.search("zebra")) == 2
    store.delete_session("s1")
    assert store.search("zebra") == []
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "dir-not-db"
    path.mkdir()
    with pytest.raises(StoreError, match="cannot open the session database") as info:
        Store(path)
    assert str(path) in str(info.value)
    assert path.is_dir()


def test_nested_writes_join_the_outer_transaction(store: Store) -> None:
    with store.write():
        s = store.create_session("/w", "m", "ask")
        store.append_message(s.id, Message("user", "kept"))
        with pytest.raises(SessionNotFound), store.write():
            store.append_message(s.id, Message("user", "undone with its savepoint"))
            store.append_message("missing", Message("user", "x"))
    assert [m.message.content for m in store.load_messages(s.id)] == ["kept"]
    with pytest.raises(RuntimeError), store.write():
        store.create_session("/w", "m", "ask", title="rolled back")
        raise RuntimeError
    assert [x.title for x in store.list_sessions()] == [""]


# --------------------------------------------------------------------------- claims


def _session_with_calls(store: Store, *ids: str) -> str:
    s = store.create_session("/w", "m", "ask")
    calls = tuple(ToolCall(i, "terminal", '{"command": "true"}') for i in ids)
    store.append_message(s.id, Message("assistant", None, calls))
    return s.id


def test_a_call_is_claimed_once_and_the_loser_learns_who_holds_it(store: Store) -> None:
    sid = _session_with_calls(store, "c1", "c2", "c3")
    assert store.claim_call(sid, "c1", "hermes pid 1 on a") is None
    args = '{"command": "true"}'
    running = CallState("c1", "terminal", args, "running", "hermes pid 1 on a")
    assert store.claim_call(sid, "c1", "hermes pid 2 on b") == running
    store.append_message(sid, Message("tool", "ok", tool_call_id="c1"))
    assert store.claim_call(sid, "c1", "hermes pid 3 on c") == replace(running, status="done")
    assert store.await_approval(sid, "c2", "asks") is True
    assert store.call_states(sid)["c2"].status == "pending_approval"
    assert store.claim_call(sid, "c2", "hermes pid 1 on a") is None  # approved, then claimed
    assert store.await_approval(sid, "c2", "asks again") is False  # started: no question
    assert store.call_states(sid)["c2"].status == "running"
    assert store.claim_call(sid, "c3", "hermes pid 1 on a", "denied") is None  # a decision
    assert store.claim_call(sid, "c3", "hermes pid 2 on b") == CallState(
        "c3", "terminal", args, "denied", "hermes pid 1 on a"
    )
    assert store.claim_call(sid, "unrecorded", "x") is None  # nobody else's either


def test_many_connections_claiming_at_once_give_each_call_one_owner(tmp_path: Path) -> None:
    path = tmp_path / "claims.db"
    first = Store(path)
    ids = [f"c{i}" for i in range(20)]
    sid = _session_with_calls(first, *ids)
    stores = [first, *(Store(path) for _ in range(7))]
    barrier = threading.Barrier(len(stores))
    winners: dict[str, list[int]] = {i: [] for i in ids}

    def claim_all(n: int) -> None:
        barrier.wait()
        for cid in ids:
            if stores[n].claim_call(sid, cid, f"owner {n}") is None:
                winners[cid].append(n)

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert {cid: len(w) for cid, w in winners.items()} == dict.fromkeys(ids, 1)
    states = first.call_states(sid)
    assert all(states[c].reason == f"owner {winners[c][0]}" for c in ids)
    for s in stores:
        s.close()


def test_a_result_keeps_its_diff_exit_code_and_duration_and_a_reply_its_reasoning(
    store: Store,
) -> None:
    s = store.create_session("/w", "m", "ask")
    call = ToolCall("c1", "patch", "{}")
    store.append_message(s.id, Message("assistant", None, (call,)), reasoning="thinking")
    store.append_message(
        s.id,
        Message("tool", "Patched", tool_call_id="c1"),
        diff="-a\n+b\n",
        exit_code=None,
        duration=0.25,
    )
    assert store.call_states(s.id)["c1"] == CallState(
        "c1", "patch", "{}", "done", "", "-a\n+b\n", None, 0.25
    )
    assert [m.reasoning for m in store.load_messages(s.id)] == ["thinking", ""]


def test_usage_summary_and_listing_only_sessions_with_messages(store: Store) -> None:
    empty = store.create_session("/w", "m", "ask")
    used = store.create_session("/w", "m", "ask")
    store.append_message(used.id, Message("user", "hi"))
    assert store.usage_summary(used.id) == (0, 0, None)
    store.record_model_call(used.id, ModelCallRecord("m", 10, 1, 5.0, 0, 100, 7, cost=0.5))
    store.record_model_call(used.id, ModelCallRecord("m", 10, 1, 5.0, 0, 300, 9, cost=0.25))
    assert store.usage_summary(used.id) == (300, 9, 0.75)
    assert [r.id for r in store.list_sessions("/w", nonempty=True)] == [used.id]
    assert {r.id for r in store.list_sessions("/w")} == {used.id, empty.id}
