"""Subagents' sessions linked to their parent's (migration 9)."""

from __future__ import annotations

from hermes.store.children import child_for_call, children, create_child, parent_of
from hermes.store.sessions import Store


def test_children_are_linked_and_found_by_call(store: Store) -> None:
    parent = store.create_session("/w", "m", "ask", title="parent")
    one = create_child(
        store, parent.id, "t1", "read a", workspace="/w", model="m", approval_mode="ask"
    )
    two = create_child(
        store, parent.id, "t2", "read b", workspace="/w", model="m", approval_mode="ask"
    )
    again = create_child(
        store, parent.id, "t1", "read a", workspace="/w", model="m", approval_mode="ask"
    )
    assert [c.session_id for c in children(store, parent.id)] == [one.id, two.id, again.id]
    found = child_for_call(store, parent.id, "t1")
    assert found is not None and found.session_id == again.id  # the latest for the call
    assert child_for_call(store, parent.id, "t9") is None
    assert parent_of(store, two.id) == (parent.id, "t2")
    assert parent_of(store, parent.id) is None
    assert store.get_session(one.id).title == "read a"
    assert [s.id for s in store.list_sessions()] == [parent.id]
    store.delete_session(parent.id)
    assert store.read("SELECT COUNT(*) FROM sessions", ()) == [(0,)]
