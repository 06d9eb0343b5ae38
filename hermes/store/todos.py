"""A session's to-do list and its plan-mode memory (migration 9).

The list is stored whole each time the model writes it (it is short), so a resumed
session shows it exactly as it was. ``mode_before_plan`` is the approval mode to go
back to when a plan is accepted, kept so a session resumed in plan mode still knows it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from hermes.protocol import TODO_STATUSES, TodoItem
from hermes.redact import redact
from hermes.store.database import Database


def save_todos(store: Database, session_id: str, items: Sequence[TodoItem]) -> None:
    """Replace the session's to-do list (content redacted like every stored text)."""
    data = json.dumps(
        [{"content": redact(i.content), "status": i.status} for i in items], ensure_ascii=False
    )
    with store.write() as db:
        db.execute(
            "INSERT OR REPLACE INTO session_todos (session_id, items, updated_at) VALUES (?, ?, ?)",
            (session_id, data, time.time()),
        )


def load_todos(store: Database, session_id: str) -> tuple[TodoItem, ...]:
    """The session's to-do list as last saved (empty when it never had one). Entries
    that do not parse are left out rather than failing the resume."""
    rows = store.read("SELECT items FROM session_todos WHERE session_id = ?", (session_id,))
    if not rows:
        return ()
    try:
        raw = json.loads(rows[0][0])
    except ValueError:
        return ()
    out: list[TodoItem] = []
    for item in raw if isinstance(raw, list) else ():
        if (
            isinstance(item, dict)
            and isinstance(item.get("content"), str)
            and item.get("status") in TODO_STATUSES
        ):
            out.append(TodoItem(item["content"], item["status"]))
    return tuple(out)


def save_mode_before_plan(store: Database, session_id: str, mode: str | None) -> None:
    """Remember (or, with None, forget) the approval mode chosen before planning."""
    with store.write() as db:
        db.execute("UPDATE sessions SET mode_before_plan = ? WHERE id = ?", (mode, session_id))


def mode_before_plan(store: Database, session_id: str) -> str | None:
    """The approval mode chosen before planning, if the session is planning."""
    rows = store.read("SELECT mode_before_plan FROM sessions WHERE id = ?", (session_id,))
    return str(rows[0][0]) if rows and rows[0][0] else None
