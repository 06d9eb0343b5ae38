from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from hermes.execution.dispatch import Dispatcher
from hermes.execution.spec import ToolResult


def pools(read: int = 1) -> dict[str, ThreadPoolExecutor]:
    return {"read": ThreadPoolExecutor(read), "lane": ThreadPoolExecutor(2)}


async def test_results_and_stats() -> None:
    d = Dispatcher(pools(2))
    results = await asyncio.gather(
        d.submit("read", "s", lambda: ToolResult(True, "a")),
        d.submit("lane", "s", lambda: ToolResult(False, "b")),
    )
    assert results == [ToolResult(True, "a"), ToolResult(False, "b")]
    assert (d.stats.requests, d.stats.errors) == (2, 1)
    assert d.stats.depth() == {"read": 0, "lane": 0}
    assert d.stats.percentile(0.5) >= 0


async def test_rounds_interleave_sessions() -> None:
    # One read worker, blocked until every call is queued: the order in which the
    # worker then runs them is the dispatch order.
    gate = threading.Event()
    order: list[str] = []

    def job(tag: str) -> ToolResult:
        gate.wait(10)
        order.append(tag)
        return ToolResult(True, tag)

    d = Dispatcher(pools(1), batch_window_ms=50, max_batch=64)
    futures = [d.submit("read", "flood", lambda i=i: job(f"f{i}")) for i in range(4)]
    futures += [d.submit("read", "other", lambda i=i: job(f"o{i}")) for i in range(2)]
    await asyncio.sleep(0.2)
    gate.set()
    await asyncio.gather(*futures)
    assert order == ["f0", "o0", "f1", "o1", "f2", "f3"]
    assert list(d.stats.batch_sizes) == [6]


async def test_single_session_is_dispatched_at_once() -> None:
    d = Dispatcher(pools(4), batch_window_ms=10_000)
    # With one active session the 10 s window never applies; the hang guard would trip.
    result = await asyncio.wait_for(d.submit("read", "only", lambda: ToolResult(True, "x")), 5)
    assert result.content == "x"


async def test_withdraw_before_dispatch() -> None:
    hold = threading.Event()
    ran: list[str] = []
    d = Dispatcher(pools(1), batch_window_ms=300)
    first = d.submit("read", "s", lambda: (hold.wait(10), ToolResult(True, "1"))[1])
    await asyncio.sleep(0.05)  # dispatched: "s" now runs
    # A second session is active, so this call waits in the batching window.
    second = d.submit("read", "t", lambda: (ran.append("2"), ToolResult(True, "2"))[1])
    assert d.withdraw(second)
    assert not d.withdraw(first)  # already running
    hold.set()
    assert (await first).content == "1"
    await asyncio.sleep(0.4)
    assert ran == [] and not second.done()
    assert d.stats.depth() == {"read": 0, "lane": 0}
