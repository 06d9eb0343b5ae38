"""A session's to-do list and plan-mode memory in the real database (migration 9)."""

from __future__ import annotations

from hermes.protocol import TodoItem
from hermes.store.sessions import Store
from hermes.store.todos import load_todos, mode_before_plan, save_mode_before_plan, save_todos


def test_the_list_is_stored_whole_and_replaced(store: Store) -> None:
    s = store.create_session("/w", "m", "ask")
    assert load_todos(store, s.id) == ()
    first = (TodoItem("a", "in_progress"), TodoItem("b"))
    save_todos(store, s.id, first)
    assert load_todos(store, s.id) == first
    save_todos(store, s.id, (TodoItem("a", "completed"),))
    assert load_todos(store, s.id) == (TodoItem("a", "completed"),)


def test_secrets_in_an_item_are_redacted(store: Store) -> None:
    s = store.create_session("/w", "m", "ask")
    key = "sk-" + "a1B2" * 12
    save_todos(store, s.id, (TodoItem(f"rotate {key}", "in_progress"),))
    (item,) = load_todos(store, s.id)
    assert key not in item.content and item.content.startswith("rotate ")


def test_entries_that_do_not_parse_are_left_out(store: Store) -> None:
    s = store.create_session("/w", "m", "ask")
    with store.write() as db:
        db.execute(
            "INSERT INTO session_todos (session_id, items, updated_at) VALUES (?, ?, 0)",
            (s.id, '[{"content": "ok", "status": "pending"}, {"content": 3}, "x"]'),
        )
    assert load_todos(store, s.id) == (TodoItem("ok"),)
    with store.write() as db:
        db.execute("UPDATE session_todos SET items = 'not json' WHERE session_id = ?", (s.id,))
    assert load_todos(store, s.id) == ()


def test_the_mode_before_planning(store: Store) -> None:
    s = store.create_session("/w", "m", "auto-edit")
    assert mode_before_plan(store, s.id) is None
    save_mode_before_plan(store, s.id, "auto-edit")
    assert mode_before_plan(store, s.id) == "auto-edit"
    save_mode_before_plan(store, s.id, None)
    assert mode_before_plan(store, s.id) is None
