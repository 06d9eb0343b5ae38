"""Saving the reply being streamed, so a kill -9 mid-stream keeps the partial answer.

The text streamed so far is written to the store's draft slot at most every
``interval`` seconds (and once more shortly after the last delta), in a worker thread,
never blocking the stream. :meth:`DraftSaver.finish` is awaited before the reply (or
the interrupted partial) is committed, so no late save can outlive that commit. On
resume, :meth:`hermes.store.Store.recover_draft` turns a surviving draft into an
assistant message marked interrupted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hermes.store import Store, StoreError

DRAFT_INTERVAL = 0.25
"""Seconds between draft saves while a reply streams."""


class DraftSaver:
    """Throttled, ordered saves of one reply's streamed text. Used on the event loop."""

    def __init__(
        self,
        store: Store,
        session_id: str,
        *,
        interval: float = DRAFT_INTERVAL,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._session_id = session_id
        self._interval = interval
        self._on_error = on_error
        self._parts: list[str] = []
        self._dirty = False
        self._closed = False
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._warned = False

    def update(self, parts: list[str]) -> None:
        """The stream grew; ``parts`` is its text so far (read when the save happens)."""
        self._parts = parts
        self._dirty = True
        self._kick()

    def _kick(self) -> None:
        if self._closed or self._task is not None or self._timer is not None:
            return
        wait = self._last + self._interval - time.monotonic()
        if wait > 0:
            self._timer = asyncio.get_running_loop().call_later(wait, self._fire)
        else:
            self._fire()

    def _fire(self) -> None:
        self._timer = None
        if self._closed or not self._dirty:
            return
        self._dirty = False
        self._last = time.monotonic()
        text = "".join(self._parts)
        task = asyncio.get_running_loop().create_task(self._save(text))
        self._task = task
        task.add_done_callback(self._saved)

    async def _save(self, text: str) -> None:
        try:
            await asyncio.to_thread(self._store.save_draft, self._session_id, text)
        except StoreError as exc:
            if not self._warned and self._on_error is not None:
                self._warned = True
                self._on_error(f"could not save the reply as it streams: {exc}")

    def _saved(self, task: asyncio.Task[None]) -> None:
        self._task = None
        if self._dirty:
            self._kick()

    async def finish(self, *, discard: bool = False) -> None:
        """Stop saving and wait for a save in flight; ``discard`` also drops the draft."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task = self._task
        if task is not None:
            await asyncio.wait({task})
        if discard:
            try:
                await asyncio.to_thread(self._store.discard_draft, self._session_id)
            except StoreError:
                pass  # the failure that ended the stream is already being reported
