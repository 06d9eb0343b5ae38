"""The session's to-do list, and what a tool may reach of its session.

The ``todo_write``/``todo_read`` tools (``tools/todo.py``) see only
``ToolContext.session``: a :class:`ToolSession` the engine builds per session. Writing
the list stores it (``hermes.store.todos``) before the tool returns, then announces it
as a ``TodoUpdated`` event; resume announces the stored list again so the front ends
show it as it was.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hermes import protocol as p
from hermes.store.todos import load_todos, save_todos

if TYPE_CHECKING:
    from hermes.engine.state import SessionState


class ToolSession:
    """A session as its tools see it (``hermes.execution.spec.SessionAccess``).

    Tool handlers run in worker threads: the list is guarded by a lock and the event is
    handed to the session's loop. Engine tools (task, exit_plan_mode) find the session's
    state here too.
    """

    def __init__(
        self,
        state: SessionState,
        loop: asyncio.AbstractEventLoop,
        items: Sequence[p.TodoItem] = (),
    ) -> None:
        self.state = state
        self._loop = loop
        self._lock = threading.Lock()
        self._items: tuple[p.TodoItem, ...] = tuple(items)
        self.plan_call: str | None = None  # an exit_plan_mode waiting for the user

    def read_todos(self) -> tuple[p.TodoItem, ...]:
        """The list as last written."""
        with self._lock:
            return self._items

    def load(self, items: Sequence[p.TodoItem]) -> None:
        """Set the list as stored (resume), without storing or announcing it."""
        with self._lock:
            self._items = tuple(items)

    def write_todos(self, items: Sequence[p.TodoItem]) -> None:
        """Store the new list (raises StoreError, which the tool reports), then show it."""
        new = tuple(items)
        with self._lock:  # one writer at a time, so the stored list is the shown one
            save_todos(self.state.store, self.state.id, new)
            self._items = new
            self._loop.call_soon_threadsafe(self.state.emit, p.TodoUpdated(new))


def tool_session(state: SessionState) -> ToolSession:
    """The session's :class:`ToolSession` (``state.tool_session``), made on first use on
    the session's event loop."""
    if state.tool_session is None:
        state.tool_session = ToolSession(state, asyncio.get_running_loop())
    return state.tool_session


async def restore_todos(state: SessionState) -> None:
    """On resume: load the stored list and show it (a replayed ``TodoUpdated``)."""
    items = await asyncio.to_thread(load_todos, state.store, state.id)
    tool_session(state).load(items)
    if items:
        state.emit(p.TodoUpdated(items, replay=True))
