"""The tool executor: a bounded read pool and one serialized lane per batch.

A batch is the tool calls of one model reply. The outcome must equal running them in the
model's order, so each call waits for exactly the earlier calls it could observe or
disturb: every lane call (write, exec, or anything needing approval) waits for the lane
calls before it; a read waits for an earlier write to an overlapping path and for any
earlier exec; an exec waits for everything before it. Everything else runs at once.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hermes.messages import ToolCall
from hermes.protocol import ToolClass
from hermes.toolspec import ToolContext, ToolError, ToolResult, ToolSpec


@dataclass(frozen=True)
class PreparedCall:
    """A call checked and classified, ready to schedule."""

    index: int
    call: ToolCall
    spec: ToolSpec | None
    args: Mapping[str, Any] | None
    tool_class: ToolClass
    error: str | None = None
    paths: tuple[Path, ...] = ()
    lane: bool = False  # forced onto the serialized lane (e.g. it needs approval)


GateAction = Literal["run", "deny", "abort"]


@dataclass(frozen=True)
class GateOutcome:
    action: GateAction
    reason: str = ""


class TurnAbort(Exception):
    """Raised through the batch when the user chose "deny and stop the turn"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Gate = Callable[[PreparedCall], Awaitable[GateOutcome]]
ResultSink = Callable[[PreparedCall, ToolResult, str], Awaitable[None]]
BeginSink = Callable[[PreparedCall], Awaitable[None]]
ContextFactory = Callable[[PreparedCall, threading.Event], ToolContext]


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def dependencies(calls: Sequence[PreparedCall]) -> list[set[int]]:
    """For each call, the indices of the earlier calls it must wait for."""
    deps: list[set[int]] = [set() for _ in calls]
    for j, cj in enumerate(calls):
        j_lane = cj.lane or cj.tool_class != "read"
        for i in range(j):
            ci = calls[i]
            i_lane = ci.lane or ci.tool_class != "read"
            if (
                (i_lane and j_lane)
                or ci.tool_class == "exec"
                or cj.tool_class == "exec"
                or (
                    (ci.tool_class == "write" or cj.tool_class == "write")
                    and any(_overlaps(p, q) for p in ci.paths for q in cj.paths)
                )
            ):
                deps[j].add(i)
    return deps


@dataclass
class ExecutorStatsData:
    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    queued: dict[str, int] = field(default_factory=lambda: {"read": 0, "lane": 0})
    running: dict[str, int] = field(default_factory=lambda: {"read": 0, "lane": 0})

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        data = sorted(self.latencies_ms[-10_000:])
        return data[min(len(data) - 1, int(q * len(data)))]


class Executor:
    """Runs tool handlers. One instance may serve many sessions in a process."""

    def __init__(self, read_pool_size: int = 8) -> None:
        self._read_pool = ThreadPoolExecutor(
            max_workers=max(1, read_pool_size), thread_name_prefix="hermes-read"
        )
        self._lane_pool = ThreadPoolExecutor(
            max_workers=max(4, (os.cpu_count() or 2)), thread_name_prefix="hermes-lane"
        )
        self.stats = ExecutorStatsData()
        self._stats_lock = threading.Lock()

    def close(self) -> None:
        self._read_pool.shutdown(wait=False, cancel_futures=True)
        self._lane_pool.shutdown(wait=False, cancel_futures=True)

    def _invoke(self, pc: PreparedCall, ctx: ToolContext) -> ToolResult:
        assert pc.spec is not None and pc.args is not None
        started = time.perf_counter()
        try:
            result = pc.spec.handler(ctx, pc.args)
        except ToolError as exc:
            result = ToolResult(ok=False, content=str(exc))
        except Exception as exc:  # a tool bug must not take the session down
            result = ToolResult(
                ok=False, content=f"{pc.call.name} failed: {type(exc).__name__}: {exc}"
            )
        elapsed = (time.perf_counter() - started) * 1000
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.errors += 0 if result.ok else 1
            self.stats.latencies_ms.append(elapsed)
        return result

    async def run_batch(
        self,
        calls: Sequence[PreparedCall],
        *,
        make_context: ContextFactory,
        gate: Gate,
        on_begin: BeginSink,
        on_result: ResultSink,
    ) -> None:
        """Run a batch; every call ends in exactly one ``on_result`` (status as 3rd arg).

        Cancellation (interrupt) kills what runs, reports it and what never started as
        interrupted/cancelled, then re-raises. ``TurnAbort`` from the gate does the same
        for the calls after it, then propagates.
        """
        deps = dependencies(calls)
        finished = [asyncio.Event() for _ in calls]
        reported: set[int] = set()
        cancel = threading.Event()
        loop = asyncio.get_running_loop()

        async def report(pc: PreparedCall, result: ToolResult, status: str) -> None:
            if pc.index in reported:
                return
            reported.add(pc.index)
            await on_result(pc, result, status)

        async def run_one(pos: int, pc: PreparedCall) -> None:
            try:
                for d in deps[pos]:
                    await finished[d].wait()
                if pc.error is not None:
                    await report(pc, ToolResult(ok=False, content=pc.error), "failed")
                    return
                lane = pc.lane or pc.tool_class != "read"
                outcome = await gate(pc)
                if outcome.action == "deny":
                    await report(pc, ToolResult(ok=False, content=outcome.reason), "denied")
                    return
                if outcome.action == "abort":
                    await report(pc, ToolResult(ok=False, content=outcome.reason), "denied")
                    raise TurnAbort(outcome.reason)
                await on_begin(pc)
                ctx = make_context(pc, cancel)
                pool = self._lane_pool if lane else self._read_pool
                kind = "lane" if lane else "read"
                with self._stats_lock:
                    self.stats.running[kind] += 1
                fut = loop.run_in_executor(pool, self._invoke, pc, ctx)
                try:
                    result = await asyncio.shield(fut)
                except asyncio.CancelledError:
                    cancel.set()
                    try:
                        partial = await asyncio.wait_for(asyncio.shield(fut), 10)
                        text = partial.content
                    except (Exception, asyncio.CancelledError):
                        # A second cancel (or a handler that ignores the cancel event)
                        # must not cost the call its "interrupted" result.
                        text = ""
                    note = "interrupted by user before it finished"
                    await report(
                        pc,
                        ToolResult(ok=False, content=f"{text}\n[{note}]" if text else f"[{note}]"),
                        "interrupted",
                    )
                    raise
                finally:
                    with self._stats_lock:
                        self.stats.running[kind] -= 1
                await report(pc, result, "done" if result.ok else "failed")
            finally:
                finished[pos].set()

        tasks = [asyncio.create_task(run_one(pos, pc)) for pos, pc in enumerate(calls)]
        try:
            await asyncio.gather(*tasks)
        except BaseException as exc:
            cancel.set()
            if not isinstance(exc, asyncio.CancelledError):
                for t in tasks:  # gather already cancelled them when we were cancelled
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            reason = exc.reason if isinstance(exc, TurnAbort) else "cancelled by user"
            for pc in calls:
                if pc.index not in reported:
                    await report(
                        pc, ToolResult(ok=False, content=f"[not run: {reason}]"), "cancelled"
                    )
            raise
