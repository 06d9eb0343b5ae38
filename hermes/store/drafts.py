"""Saving the reply being streamed, so a kill -9 mid-stream keeps the partial answer.

The text streamed since the last save is appended to the store's draft at most every
``interval`` seconds (and once more shortly after the last delta), in a worker thread,
never blocking the stream. Saves append: whole lines become a new part, and only the
unfinished last line is rewritten, so a long or endless reply costs what it adds, not
its whole length every save. :meth:`DraftSaver.finish` is awaited before the reply (or
the interrupted partial) is committed, so no late save can outlive that commit. On
resume, :meth:`hermes.store.sessions.Store.recover_draft` turns a surviving draft into an
assistant message marked interrupted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hermes.store.sessions import Store, StoreError

DRAFT_INTERVAL = 0.25
"""Seconds between draft saves while a reply streams."""
MAX_TAIL_CHARS = 64 * 1024
"""The longest unfinished tail kept aside before it is saved as a part anyway."""
_KEY_BEGIN = "-----BEGIN"
_KEY_END = "-----END"


def stable_end(text: str, max_tail: int = MAX_TAIL_CHARS) -> int:
    """Where ``text`` may be cut so that no secret format spans the cut: after its last
    newline, and before an unclosed private key block. Past ``max_tail`` characters of
    tail, at the last whitespace (or anywhere) so the tail stays bounded."""
    cut = text.rfind("\n") + 1
    opened = text.rfind(_KEY_BEGIN, 0, cut)
    if opened >= 0 and text.find(_KEY_END, opened) < 0:
        cut = text.rfind("\n", 0, opened) + 1
    if len(text) - cut > max_tail:
        limit = len(text) - max_tail
        space = max(text.rfind(" ", limit), text.rfind("\t", limit))
        cut = space + 1 if space >= 0 else len(text)
    return cut


class DraftSaver:
    """Throttled, ordered, appending saves of one reply's streamed text. Used on the
    event loop."""

    def __init__(
        self,
        store: Store,
        session_id: str,
        *,
        interval: float = DRAFT_INTERVAL,
        on_error: Callable[[str], None] | None = None,
        max_tail: int = MAX_TAIL_CHARS,
    ) -> None:
        self._store = store
        self._session_id = session_id
        self._interval = interval
        self._on_error = on_error
        self._max_tail = max_tail
        self._parts: list[str] = []
        self._seen = 0  # pieces of ``_parts`` seen by update
        self._saved = 0  # pieces of ``_parts`` already handed to a save
        self._tail = ""  # unfinished text after the last saved part
        self._restart = True  # the next save drops what an earlier stream left
        self._dirty = False
        self._closed = False
        self._last = float("-inf")  # the first save is not delayed
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._warned = False

    def update(self, parts: list[str]) -> None:
        """The stream grew; ``parts`` is its text so far, a list that only grows (read
        when the save happens). A shorter list than last time means the text was cleared
        for a retried request: the draft starts again."""
        if parts is not self._parts or len(parts) < self._seen:
            self.restart()
        self._parts = parts
        self._seen = len(parts)
        self._dirty = True
        self._kick()

    def restart(self) -> None:
        """Drop what was saved; the next save starts the draft again."""
        self._saved = 0
        self._tail = ""
        self._restart = True

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
        text = self._tail + "".join(self._parts[self._saved :])
        self._saved = len(self._parts)
        cut = stable_end(text, self._max_tail)
        done, self._tail = text[:cut], text[cut:]
        restart, self._restart = self._restart, False
        task = asyncio.get_running_loop().create_task(self._save(done, self._tail, restart))
        self._task = task
        task.add_done_callback(self._saved_one)

    async def _save(self, done: str, tail: str, restart: bool) -> None:
        try:
            await asyncio.to_thread(
                self._store.append_draft, self._session_id, done, tail, restart=restart
            )
        except StoreError as exc:
            if not self._warned and self._on_error is not None:
                self._warned = True
                self._on_error(f"could not save the reply as it streams: {exc}")

    def _saved_one(self, task: asyncio.Task[None]) -> None:
        self._task = None
        if self._dirty:
            self._kick()

    async def flush(self) -> None:
        """Save what is pending now (ignoring the interval) and wait for it."""
        while True:
            if self._task is not None:
                await asyncio.wait({self._task})
                continue
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._closed or not self._dirty:
                return
            self._fire()

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
