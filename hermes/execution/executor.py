"""The tool executor: a bounded read pool and one serialized lane per batch.

A batch is the tool calls of one model reply. The outcome must equal running them in the
model's order, so each call waits for exactly the earlier calls it could observe or
disturb: every lane call (write, exec, or anything needing approval) waits for the lane
calls before it; a read waits for an earlier write to an overlapping path and for any
earlier exec; an exec waits for everything before it. Everything else runs at once.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hermes.execution.dispatch import Dispatcher, quantile
from hermes.execution.spec import ToolContext, ToolError, ToolResult, ToolSpec
from hermes.messages import ToolCall
from hermes.protocol import ExecutorStats, ToolClass


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


GateAction = Literal["run", "deny", "abort", "fail"]


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


def _on_lane(pc: PreparedCall) -> bool:
    """Whether the call takes the serialized lane (a write, an exec, one that asks, or
    one its tool marks serial for these arguments)."""
    if pc.lane or pc.tool_class != "read":
        return True
    serial = pc.spec.serial if pc.spec is not None else None
    return serial is not None and pc.args is not None and serial(pc.args)


def dependencies(calls: Sequence[PreparedCall]) -> list[set[int]]:
    """For each call, the indices of the earlier calls it must wait for."""
    deps: list[set[int]] = [set() for _ in calls]
    for j, cj in enumerate(calls):
        j_lane = _on_lane(cj)
        for i in range(j):
            ci = calls[i]
            i_lane = _on_lane(ci)
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


class Executor:
    """Runs tool handlers. One instance may serve many sessions in a process."""

    def __init__(
        self,
        read_pool_size: int = 8,
        *,
        lane_pool_size: int = 32,
        batch_window_ms: float = 20.0,
        max_batch: int = 64,
    ) -> None:
        self._pools = {
            "read": ThreadPoolExecutor(
                max_workers=max(1, read_pool_size), thread_name_prefix="hermes-read"
            ),
            "lane": ThreadPoolExecutor(
                max_workers=max(1, lane_pool_size), thread_name_prefix="hermes-lane"
            ),
        }
        self._dispatch = Dispatcher(
            self._pools, batch_window_ms=batch_window_ms, max_batch=max_batch
        )
        self.stats = self._dispatch.stats

    def snapshot(self, session: str | None = None) -> ExecutorStats:
        """The counters as a protocol event: the whole executor's, or (``session``)
        those of one session's calls."""
        st = self.stats
        if session is not None:
            requests, errors, data = st.session(session)
            return ExecutorStats(
                requests=requests,
                errors=errors,
                p50_ms=round(quantile(data, 0.5), 3),
                p95_ms=round(quantile(data, 0.95), 3),
                queue_depth=st.depth(),
            )
        return ExecutorStats(
            requests=st.requests,
            errors=st.errors,
            p50_ms=round(st.percentile(0.5), 3),
            p95_ms=round(st.percentile(0.95), 3),
            queue_depth=st.depth(),
        )

    def close(self) -> None:
        self._dispatch.close()
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _invoke(pc: PreparedCall, ctx: ToolContext) -> ToolResult:
        assert pc.spec is not None and pc.args is not None
        try:
            return pc.spec.handler(ctx, pc.args)
        except ToolError as exc:
            return ToolResult(ok=False, content=str(exc))
        except Exception as exc:  # a tool bug must not take the session down
            return ToolResult(
                ok=False, content=f"{pc.call.name} failed: {type(exc).__name__}: {exc}"
            )

    @staticmethod
    async def _run_async(
        pc: PreparedCall,
        ctx: ToolContext,
        cancel: threading.Event,
        report: ResultSink,
    ) -> None:
        """Run an engine tool on the event loop. Cancelled with the batch, it is
        cancelled too and given time to wind down (a subagent records its interruption);
        what it hands back then becomes the interrupted result."""
        assert pc.spec is not None and pc.spec.run_async is not None and pc.args is not None
        run_async = pc.spec.run_async
        args = pc.args

        async def invoke() -> ToolResult:
            try:
                return await run_async(ctx, args)
            except ToolError as exc:
                return ToolResult(ok=False, content=str(exc))
            except (TurnAbort, asyncio.CancelledError):
                raise
            except Exception as exc:  # a tool bug must not take the session down
                return ToolResult(
                    ok=False, content=f"{pc.call.name} failed: {type(exc).__name__}: {exc}"
                )

        task = asyncio.ensure_future(invoke())
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            cancel.set()
            task.cancel()
            try:
                text = (await asyncio.wait_for(asyncio.shield(task), 30)).content
            except (Exception, asyncio.CancelledError):
                text = ""
            note = "interrupted by user before it finished"
            await report(
                pc,
                ToolResult(ok=False, content=f"{text}\n[{note}]" if text else f"[{note}]"),
                "interrupted",
            )
            raise
        except TurnAbort as exc:
            await report(pc, ToolResult(ok=False, content=exc.reason), "denied")
            raise
        await report(pc, result, "done" if result.ok else "failed")

    async def run_batch(
        self,
        calls: Sequence[PreparedCall],
        *,
        make_context: ContextFactory,
        gate: Gate,
        on_begin: BeginSink,
        on_result: ResultSink,
        session: str = "",
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
                if outcome.action == "fail":  # it could not succeed: not run, not asked
                    await report(pc, ToolResult(ok=False, content=outcome.reason), "failed")
                    return
                if outcome.action == "abort":
                    await report(pc, ToolResult(ok=False, content=outcome.reason), "denied")
                    raise TurnAbort(outcome.reason)
                await on_begin(pc)
                ctx = make_context(pc, cancel)
                if pc.spec is not None and pc.spec.run_async is not None:
                    await self._run_async(pc, ctx, cancel, report)
                    return
                fut = self._dispatch.submit(
                    "lane" if lane else "read", session, functools.partial(self._invoke, pc, ctx)
                )
                try:
                    result = await asyncio.shield(fut)
                except asyncio.CancelledError:
                    cancel.set()
                    if self._dispatch.withdraw(fut):
                        await report(
                            pc,
                            ToolResult(ok=False, content="[not run: cancelled by user]"),
                            "cancelled",
                        )
                        raise
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
            if isinstance(exc, TurnAbort):
                reason = exc.reason
            elif isinstance(exc, asyncio.CancelledError):
                reason = "cancelled by user"
            else:  # e.g. a result could not be committed: the model is told why
                reason = f"the turn stopped: {exc}"
            for pc in calls:
                if pc.index not in reported:
                    await report(
                        pc, ToolResult(ok=False, content=f"[not run: {reason}]"), "cancelled"
                    )
            raise
