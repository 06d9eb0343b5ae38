"""Subagents' sessions (migration 9): a child session names its parent session, the
parent's ``task`` call that started it, and the task's description.

A child is an ordinary session (messages, calls, model requests) that is left out of
``list_sessions`` and shown nested in its parent's ``hermes sessions show``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hermes.redact import redact
from hermes.store.sessions import SessionRecord, Store, new_session_id


@dataclass(frozen=True)
class ChildLink:
    """Where a subagent's session hangs in its parent's."""

    session_id: str
    parent_session_id: str
    parent_call_id: str
    agent: str  # the task's description
    title: str
    message_count: int
    prompt_tokens: int
    completion_tokens: int
    created_at: float


_LINK_COLS = (
    "id, parent_session_id, parent_call_id, agent, title, message_count, prompt_tokens, "
    "completion_tokens, created_at"
)


def create_child(
    store: Store,
    parent: str,
    call_id: str,
    agent: str,
    *,
    workspace: str,
    model: str,
    approval_mode: str,
) -> SessionRecord:
    """A new, empty session for a subagent of ``parent`` started by its call ``call_id``."""
    now = time.time()
    sid = new_session_id()
    title = redact(agent)
    with store.write() as db:
        db.execute(
            "INSERT INTO sessions (id, workspace, title, model, approval_mode, created_at, "
            "updated_at, parent_session_id, parent_call_id, agent) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sid, workspace, title, model, approval_mode, now, now, parent, call_id, title),
        )
    return SessionRecord(sid, workspace, title, model, approval_mode, now, now, 0, 0, 0)


def _link(row: tuple[object, ...]) -> ChildLink:
    return ChildLink(*row)  # type: ignore[arg-type]


def children(store: Store, parent: str) -> list[ChildLink]:
    """A session's subagents, oldest first."""
    rows = store.read(
        f"SELECT {_LINK_COLS} FROM sessions WHERE parent_session_id = ? ORDER BY created_at, id",
        (parent,),
    )
    return [_link(r) for r in rows]


def child_for_call(store: Store, parent: str, call_id: str) -> ChildLink | None:
    """The latest subagent session started by ``parent``'s call ``call_id``, if any."""
    rows = store.read(
        f"SELECT {_LINK_COLS} FROM sessions WHERE parent_session_id = ? AND parent_call_id = ? "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        (parent, call_id),
    )
    return _link(rows[0]) if rows else None


def parent_of(store: Store, session_id: str) -> tuple[str, str] | None:
    """``(parent session, parent call)`` of a subagent's session; None for a top-level one."""
    rows = store.read(
        "SELECT parent_session_id, parent_call_id FROM sessions WHERE id = ?", (session_id,)
    )
    if not rows or rows[0][0] is None:
        return None
    return str(rows[0][0]), str(rows[0][1] or "")
