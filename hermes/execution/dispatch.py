"""Dispatching handler calls to the thread pools, shared by every session in a process.

Calls are queued and dispatched in rounds. While only one session is active a round is
dispatched at once (no added latency); when several sessions share the executor (batch
runs, subagents), a round collects what arrives within ``batch_window`` (up to
``max_batch`` calls) and dispatches it interleaved by session, so one session flooding
the read pool cannot starve the others. Stats cover every call: requests, errors,
latency (queue + run) and queue depth per lane.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from hermes.execution.spec import ToolResult

LANES = ("read", "lane")


@dataclass
class SessionStats:
    """One session's share of an executor's calls (subagents each have their own)."""

    requests: int = 0
    errors: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2_000))


def quantile(data: list[float], q: float) -> float:
    """The q-quantile (0..1) of sorted ``data``; 0 when empty."""
    if not data:
        return 0.0
    return data[min(len(data) - 1, int(q * len(data)))]


@dataclass
class DispatchStats:
    """Counters of one executor; read under ``lock``."""

    requests: int = 0
    errors: int = 0
    batches: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))
    batch_sizes: deque[int] = field(default_factory=lambda: deque(maxlen=20_000))
    queued: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LANES, 0))
    running: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LANES, 0))
    sessions: dict[str, SessionStats] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def percentile(self, q: float) -> float:
        """The q-quantile (0..1) of recent call latencies in ms; 0 with no calls."""
        with self.lock:
            data = sorted(self.latencies_ms)
        return quantile(data, q)

    def session(self, session: str) -> tuple[int, int, list[float]]:
        """``(requests, errors, sorted latencies)`` of one session's calls."""
        with self.lock:
            st = self.sessions.get(session)
            if st is None:
                return 0, 0, []
            return st.requests, st.errors, sorted(st.latencies_ms)

    def depth(self) -> dict[str, int]:
        """Calls waiting or running, per lane."""
        with self.lock:
            return {k: self.queued[k] + self.running[k] for k in LANES}


@dataclass
class _Job:
    lane: str
    session: str
    fn: Callable[[], ToolResult]
    future: asyncio.Future[ToolResult]
    queued_at: float


class Dispatcher:
    """Queues handler calls and hands them to the read pool or the lane pool in rounds."""

    def __init__(
        self,
        pools: dict[str, ThreadPoolExecutor],
        *,
        batch_window_ms: float = 20.0,
        max_batch: int = 64,
    ) -> None:
        self._pools = pools
        self._window = max(0.0, batch_window_ms) / 1000
        self._max_batch = max(1, max_batch)
        self._pending: deque[_Job] = deque()
        self._active: Counter[str] = Counter()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stats = DispatchStats()

    def submit(
        self, lane: str, session: str, fn: Callable[[], ToolResult]
    ) -> asyncio.Future[ToolResult]:
        """Queue ``fn`` on ``lane`` ("read" or "lane"); the future carries its result."""
        loop = asyncio.get_running_loop()
        self._ensure_running(loop)
        future: asyncio.Future[ToolResult] = loop.create_future()
        self._pending.append(_Job(lane, session, fn, future, time.perf_counter()))
        self._active[session] += 1
        with self.stats.lock:
            self.stats.queued[lane] += 1
        assert self._wakeup is not None
        self._wakeup.set()
        return future

    def withdraw(self, future: asyncio.Future[ToolResult]) -> bool:
        """Remove a call that has not been dispatched yet; False if it already runs."""
        for job in self._pending:
            if job.future is future:
                self._pending.remove(job)
                self._finish_session(job.session)
                with self.stats.lock:
                    self.stats.queued[job.lane] -= 1
                return True
        return False

    def close(self) -> None:
        """Stop the dispatch task (queued calls are abandoned; their futures cancelled)."""
        if self._task is not None and not self._task.done():
            try:
                self._task.cancel()
            except RuntimeError:  # its event loop is already closed
                pass
        while self._pending:
            job = self._pending.popleft()
            if not job.future.done():
                job.future.cancel()

    def _ensure_running(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not loop or self._task is None or self._task.done():
            self._loop = loop
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run(), name="hermes-dispatch")

    def _finish_session(self, session: str) -> None:
        self._active[session] -= 1
        if self._active[session] <= 0:
            del self._active[session]

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._pending:
                continue
            if self._window and len(self._active) > 1 and len(self._pending) < self._max_batch:
                await asyncio.sleep(self._window)
            for job in self._take_round():
                self._start(job)
            if self._pending:
                self._wakeup.set()

    def _take_round(self) -> list[_Job]:
        """Up to ``max_batch`` pending calls, interleaved by session, FIFO within each."""
        by_session: dict[str, deque[_Job]] = {}
        while self._pending and sum(len(q) for q in by_session.values()) < self._max_batch:
            job = self._pending.popleft()
            by_session.setdefault(job.session, deque()).append(job)
        round_: list[_Job] = []
        while by_session:
            for session in list(by_session):
                round_.append(by_session[session].popleft())
                if not by_session[session]:
                    del by_session[session]
        with self.stats.lock:
            self.stats.batches += 1
            self.stats.batch_sizes.append(len(round_))
        return round_

    def _start(self, job: _Job) -> None:
        loop = self._loop
        assert loop is not None
        with self.stats.lock:
            self.stats.queued[job.lane] -= 1
            self.stats.running[job.lane] += 1
        if job.future.cancelled():
            self._done(job, None)
            return
        cf = self._pools[job.lane].submit(job.fn)

        def settle(done: Future[ToolResult]) -> None:
            loop.call_soon_threadsafe(self._done, job, done)

        cf.add_done_callback(settle)

    def _done(self, job: _Job, cf: Future[ToolResult] | None) -> None:
        elapsed = (time.perf_counter() - job.queued_at) * 1000
        result: ToolResult | None = None
        error: BaseException | None = None
        if cf is not None:
            try:
                result = cf.result()
            except BaseException as exc:  # pool shut down, or a bug outside the handler
                error = exc
        with self.stats.lock:
            self.stats.running[job.lane] -= 1
            self.stats.requests += 1
            self.stats.errors += 0 if (result is not None and result.ok) else 1
            self.stats.latencies_ms.append(elapsed)
            mine = self.stats.sessions.setdefault(job.session, SessionStats())
            mine.requests += 1
            mine.errors += 0 if (result is not None and result.ok) else 1
            mine.latencies_ms.append(elapsed)
        self._finish_session(job.session)
        if job.future.done():
            return
        if result is not None:
            job.future.set_result(result)
        elif error is not None:
            job.future.set_exception(error)
        else:
            job.future.cancel()
