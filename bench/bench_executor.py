"""Executor figures (issue 3).

1. N independent reads that each take 100 ms, in one batch, against one such read
   (goal: at most 1.3x for N = 8).
2. Executor overhead per call: classify + schedule + run a no-op handler + commit the
   result to SQLite (synchronous=FULL), p50 (goal < 1 ms).

Run: python bench/bench_executor.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hermes import protocol as p
from hermes.config import Config
from hermes.engine.calls import prepare_calls, run_calls
from hermes.engine.state import SessionState
from hermes.execution.executor import Executor
from hermes.execution.spec import ToolContext, ToolRegistry, ToolResult, ToolSpec
from hermes.messages import Message, ToolCall
from hermes.model.openai import ChatCompletionsClient
from hermes.safety.policy import ApprovalPolicy
from hermes.store.sessions import Store

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False}


def slow_read(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    time.sleep(0.1)
    return ToolResult(True, "slow")


def noop_read(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    return ToolResult(True, "ok")


async def batch(state: SessionState, name: str, n: int) -> float:
    calls = [
        ToolCall(f"c{time.perf_counter_ns()}_{i}", name, json.dumps({"n": i})) for i in range(n)
    ]
    msg = Message("assistant", None, tuple(calls))
    await state.commit(msg)
    state.history.append(msg)
    start = time.perf_counter()
    prepared, facts = prepare_calls(state, calls)
    await run_calls(state, prepared, facts)
    return time.perf_counter() - start


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        config = Config()
        registry = ToolRegistry(
            [
                ToolSpec("slow_read", "", SCHEMA, "read", slow_read),
                ToolSpec("noop_read", "", SCHEMA, "read", noop_read),
            ]
        )
        record = store.create_session(tmp, "bench", "ask")
        executor = Executor(8)
        state = SessionState(
            id=record.id,
            title="",
            workspace=Path(tmp),
            config=config,
            store=store,
            model=ChatCompletionsClient(config.model, None),
            registry=registry,
            executor=executor,
            policy=ApprovalPolicy(),
            interactive=False,
            emit=lambda ev: None,
        )
        await batch(state, "noop_read", 1)  # warm up threads and SQLite
        one = min([await batch(state, "slow_read", 1) for _ in range(3)])
        eight = min([await batch(state, "slow_read", 8) for _ in range(3)])
        print(
            f"one 100 ms read: {one * 1000:.1f} ms; 8 in one batch: {eight * 1000:.1f} ms; "
            f"ratio {eight / one:.3f} (goal <= 1.3)"
        )
        per_call = sorted([await batch(state, "noop_read", 1) for _ in range(2000)])
        p50 = statistics.median(per_call) * 1000
        p95 = per_call[int(0.95 * len(per_call))] * 1000
        print(
            f"overhead per call (classify + schedule + no-op run + commit): p50 {p50:.3f} ms, "
            f"p95 {p95:.3f} ms (goal p50 < 1 ms)"
        )
        snap: p.ExecutorStats = executor.snapshot()
        print(
            f"executor stats: {snap.requests} requests, {snap.errors} errors, "
            f"p50 {snap.p50_ms} ms, p95 {snap.p95_ms} ms"
        )
        executor.close()
        store.close()


if __name__ == "__main__":
    asyncio.run(main())
