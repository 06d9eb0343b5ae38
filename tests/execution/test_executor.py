from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hermes.execution.executor import (
    Executor,
    GateOutcome,
    PreparedCall,
    TurnAbort,
    dependencies,
)
from hermes.execution.spec import ToolContext, ToolResult, ToolSpec
from hermes.messages import ToolCall
from hermes.protocol import ToolClass

SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


class Files:
    """A tiny in-memory file system whose tools record the order things happened in."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {"a": "old"}
        self.log: list[str] = []
        self.lock = threading.Lock()

    def read(self, ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
        time.sleep(float(args.get("sleep", 0)))
        with self.lock:
            self.log.append(f"read {args['path']}")
            return ToolResult(True, self.data.get(args["path"], "<missing>"))

    def write(self, ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
        time.sleep(float(args.get("sleep", 0)))
        with self.lock:
            self.log.append(f"write {args['path']}")
            self.data[args["path"]] = args["content"]
        return ToolResult(True, "ok")

    def boom(self, ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
        raise RuntimeError("tool bug")

    def wait_cancel(self, ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
        ctx.cancel.wait(30)
        return ToolResult(False, "stopped early")


def call(fs: Files, i: int, kind: ToolClass, **args: Any) -> PreparedCall:
    handler = {"read": fs.read, "write": fs.write, "exec": fs.write}[kind]
    if args.pop("boom", False):
        handler = fs.boom
    if args.pop("wait_cancel", False):
        handler = fs.wait_cancel
    spec = ToolSpec(f"t_{kind}", "", SCHEMA, kind, handler)
    path = args.get("path", "x")
    return PreparedCall(
        i, ToolCall(f"c{i}", spec.name, "{}"), spec, args, kind, paths=(Path("/w") / path,)
    )


async def run(calls: list[PreparedCall], gate_action: str = "run") -> list[tuple[int, str, str]]:
    ex = Executor(read_pool_size=8)
    results: list[tuple[int, str, str]] = []

    async def gate(pc: PreparedCall) -> GateOutcome:
        if gate_action == "abort" and pc.tool_class != "read":
            return GateOutcome("abort", "stopped")
        return GateOutcome("run")

    async def begin(pc: PreparedCall) -> None:
        return None

    async def on_result(pc: PreparedCall, r: ToolResult, status: str) -> None:
        results.append((pc.index, status, r.content))

    try:
        await ex.run_batch(
            calls,
            make_context=lambda pc, cancel: ToolContext(Path("/w"), cancel=cancel),
            gate=gate,
            on_begin=begin,
            on_result=on_result,
        )
    finally:
        ex.close()
    return results


async def test_read_after_write_sees_the_write() -> None:
    # The naive "all reads first, then writes" order would read "old".
    fs = Files()
    calls = [
        call(fs, 0, "write", path="a", content="new", sleep=0.05),
        call(fs, 1, "read", path="a"),
    ]
    results = await run(calls)
    assert sorted(results) == [(0, "done", "ok"), (1, "done", "new")]
    assert fs.log == ["write a", "read a"]


async def test_read_before_write_sees_the_old_content() -> None:
    fs = Files()
    calls = [
        call(fs, 0, "read", path="a", sleep=0.05),
        call(fs, 1, "write", path="a", content="new"),
    ]
    results = await run(calls)
    assert sorted(results) == [(0, "done", "old"), (1, "done", "ok")]


async def test_reads_around_exec_wait_for_it() -> None:
    fs = Files()
    calls = [
        call(fs, 0, "read", path="b", sleep=0.05),
        call(fs, 1, "exec", path="a", content="from-exec"),
        call(fs, 2, "read", path="a"),
    ]
    await run(calls)
    assert fs.log == ["read b", "write a", "read a"]


def test_dependency_graph() -> None:
    fs = Files()
    calls = [
        call(fs, 0, "read", path="a"),
        call(fs, 1, "read", path="b"),
        call(fs, 2, "write", path="b"),
        call(fs, 3, "read", path="a"),
        call(fs, 4, "read", path="b/c"),
        call(fs, 5, "exec"),
        call(fs, 6, "read", path="z"),
    ]
    assert dependencies(calls) == [set(), set(), {1}, set(), {2}, {0, 1, 2, 3, 4}, {5}]


async def test_independent_reads_run_together() -> None:
    fs = Files()
    barrier = threading.Barrier(4, timeout=10)

    def meet(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
        barrier.wait()  # only passes if all four run at the same time
        return ToolResult(True, "met")

    spec = ToolSpec("meet", "", SCHEMA, "read", meet)
    calls = [
        PreparedCall(i, ToolCall(f"c{i}", "meet", "{}"), spec, {}, "read", paths=(Path(f"/w/{i}"),))
        for i in range(4)
    ]
    results = await run(calls)
    assert sorted(results) == [(i, "done", "met") for i in range(4)]
    del fs


async def test_one_error_does_not_stop_the_others() -> None:
    fs = Files()
    calls = [
        call(fs, 0, "read", path="a", boom=True),
        call(fs, 1, "write", path="a", content="x", boom=True),
        call(fs, 2, "read", path="a"),
    ]
    results = sorted(await run(calls))
    assert [(i, s) for i, s, _ in results] == [(0, "failed"), (1, "failed"), (2, "done")]
    assert "RuntimeError: tool bug" in results[0][2]


async def test_abort_reports_every_call() -> None:
    fs = Files()
    calls = [
        call(fs, 0, "read", path="a"),
        call(fs, 1, "write", path="a", content="x"),
        call(fs, 2, "write", path="q", content="y"),
    ]
    with pytest.raises(TurnAbort):
        await run(calls, gate_action="abort")
    assert fs.data["a"] == "old"


async def test_cancel_interrupts_running_and_reports_queued() -> None:
    fs = Files()
    ex = Executor()
    results: list[tuple[int, str]] = []
    started = asyncio.Event()

    async def gate(pc: PreparedCall) -> GateOutcome:
        return GateOutcome("run")

    async def begin(pc: PreparedCall) -> None:
        started.set()

    async def on_result(pc: PreparedCall, r: ToolResult, status: str) -> None:
        results.append((pc.index, status))

    calls = [call(fs, 0, "exec", wait_cancel=True), call(fs, 1, "write", path="a", content="x")]
    task = asyncio.create_task(
        ex.run_batch(
            calls,
            make_context=lambda pc, cancel: ToolContext(Path("/w"), cancel=cancel),
            gate=gate,
            on_begin=begin,
            on_result=on_result,
        )
    )
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    ex.close()
    assert sorted(results) == [(0, "interrupted"), (1, "cancelled")]
    assert fs.data["a"] == "old"


# -- engine tools (run_async) and tools serial for some arguments (subagents) ----------


def async_call(i: int, run_async: Any, *, serial: bool = False) -> PreparedCall:
    def never(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
        raise AssertionError("an async tool never runs in a thread")

    spec = ToolSpec(
        "t_async", "", SCHEMA, "read", never, run_async=run_async, serial=lambda a: serial
    )
    return PreparedCall(i, ToolCall(f"c{i}", spec.name, "{}"), spec, {}, "read")


async def test_async_tools_run_on_the_loop_together_unless_serial() -> None:
    running: list[int] = []
    most = 0

    def tool(i: int) -> Any:
        async def run_async(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
            nonlocal most
            running.append(i)
            most = max(most, len(running))
            await asyncio.sleep(0.05)
            running.remove(i)
            return ToolResult(True, f"answer {i}")

        return run_async

    together = await run([async_call(0, tool(0)), async_call(1, tool(1)), async_call(2, tool(2))])
    assert sorted(together) == [
        (0, "done", "answer 0"),
        (1, "done", "answer 1"),
        (2, "done", "answer 2"),
    ]
    assert most == 3
    most = 0
    serial = [async_call(i, tool(i), serial=True) for i in range(2)]
    assert dependencies(serial) == [set(), {0}]
    assert sorted(await run(serial)) == [(0, "done", "answer 0"), (1, "done", "answer 1")]
    assert most == 1


async def test_an_async_tool_cancelled_hands_back_what_it_had() -> None:
    started = asyncio.Event()

    async def run_async(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return ToolResult(False, "partial findings")
        return ToolResult(True, "never")

    ex = Executor()
    results: list[tuple[int, str, str]] = []

    async def gate(pc: PreparedCall) -> GateOutcome:
        return GateOutcome("run")

    async def begin(pc: PreparedCall) -> None:
        return None

    async def on_result(pc: PreparedCall, r: ToolResult, status: str) -> None:
        results.append((pc.index, status, r.content))

    batch = asyncio.create_task(
        ex.run_batch(
            [async_call(0, run_async)],
            make_context=lambda pc, cancel: ToolContext(Path("/w"), cancel=cancel),
            gate=gate,
            on_begin=begin,
            on_result=on_result,
        )
    )
    await asyncio.wait_for(started.wait(), 10)
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch
    ex.close()
    assert results == [
        (0, "interrupted", "partial findings\n[interrupted by user before it finished]")
    ]


async def test_an_async_tool_may_stop_the_turn() -> None:
    async def run_async(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
        raise TurnAbort("the user stopped it")

    with pytest.raises(TurnAbort):
        await run([async_call(0, run_async)])


async def test_stats_are_kept_per_session() -> None:
    fs = Files()
    ex = Executor(read_pool_size=4)

    async def gate(pc: PreparedCall) -> GateOutcome:
        return GateOutcome("run")

    async def nothing(*args: Any) -> None:
        return None

    async def batch(session: str, n: int) -> None:
        await ex.run_batch(
            [call(fs, i, "read", path="a") for i in range(n)],
            make_context=lambda pc, cancel: ToolContext(Path("/w"), cancel=cancel),
            gate=gate,
            on_begin=nothing,
            on_result=nothing,
            session=session,
        )

    try:
        await asyncio.gather(batch("parent", 1), batch("child-1", 3), batch("child-2", 2))
        assert [ex.snapshot(s).requests for s in ("parent", "child-1", "child-2", "none")] == [
            1,
            3,
            2,
            0,
        ]
        assert ex.snapshot().requests == 6
        assert ex.snapshot("child-1").p95_ms >= ex.snapshot("child-1").p50_ms > 0
    finally:
        ex.close()
