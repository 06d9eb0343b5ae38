"""Subagents sharing one executor (issue 19).

Four subagents, each making eight 100 ms reads, against one scripted model server,
compared with one subagent doing the same (goal: under 1.5x the wall time), with the
shared executor's batching stats: calls per dispatch round and call latency (queue +
run) p50/p95.

Two shapes of work per subagent:

- ``sequential``: eight model requests, each asking for one read (how a model explores:
  read, think, read), then the answer: nine requests per subagent;
- ``parallel``: one request asking for all eight reads at once, then the answer; with
  the default read pool (8 threads) and with a pool of 32.

The real engine runs it all: the parent's reply holds the ``task`` calls, each child is
a session in the database, every call goes through the gate, the shared executor and a
durable commit. The reads are a read-class tool that sleeps 100 ms; the model server
(in this process, real HTTP on 127.0.0.1) answers at once.

Run: python bench/bench_subagents.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hermes import protocol as p
from hermes.config import Overrides, load_config
from hermes.engine.engine import Engine, default_registry
from hermes.execution.executor import Executor
from hermes.execution.spec import ToolContext, ToolResult, ToolSpec
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ChatRequest, ScriptedCall, ScriptedReply

READS = 8
READ_SECONDS = 0.1


def slow_read(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    time.sleep(READ_SECONDS)
    return ToolResult(True, f"contents of part {args.get('part')}")


SLOW_READ = ToolSpec(
    "slow_read",
    "Read one part (takes 100 ms).",
    {"type": "object", "properties": {"part": {"type": "integer"}}, "required": ["part"]},
    "read",
    slow_read,
)
READER = """---
description: Reads parts.
tools: slow_read
---
You read parts and report.
"""


class Script:
    """One script per conversation, keyed by its first user message; the reply is the
    next after the assistant messages the request holds (thread-safe: stateless)."""

    def __init__(self, agents: int, shape: str) -> None:
        self.agents = agents
        self.shape = shape
        self.lock = threading.Lock()

    def __call__(self, request: ChatRequest) -> ScriptedReply:
        users = [m for m in request.messages if m.get("role") == "user"]
        first = str(users[0]["content"])
        step = sum(1 for m in request.messages if m.get("role") == "assistant")
        if first == "go":  # the parent
            if step == 0:
                calls = tuple(
                    ScriptedCall(
                        "task",
                        json.dumps(
                            {"description": f"part {i}", "prompt": f"read {i}", "agent": "reader"}
                        ),
                        f"t{i}",
                    )
                    for i in range(self.agents)
                )
                return ScriptedReply(tool_calls=calls, usage=(100, 10))
            return ScriptedReply(text="all read", usage=(100, 10))
        agent = first.split()[-1]
        if self.shape == "parallel":
            if step == 0:
                calls = tuple(
                    ScriptedCall("slow_read", json.dumps({"part": k}), f"r{agent}_{k}")
                    for k in range(READS)
                )
                return ScriptedReply(tool_calls=calls, usage=(100, 10))
            return ScriptedReply(text=f"agent {agent} read {READS} parts", usage=(100, 10))
        if step < READS:
            call = ScriptedCall("slow_read", json.dumps({"part": step}), f"r{agent}_{step}")
            return ScriptedReply(tool_calls=(call,), usage=(100, 10))
        return ScriptedReply(text=f"agent {agent} read {READS} parts", usage=(100, 10))


@dataclasses.dataclass
class Run:
    wall_s: float
    rounds: list[int]
    p50_ms: float
    p95_ms: float
    requests: int


async def one_run(base: Path, server: ScriptedServer, agents: int, pool: int) -> Run:
    workspace = base / "ws"
    workspace.mkdir(exist_ok=True)
    config = load_config(workspace, Overrides(base_url=server.base_url), env={})
    config = dataclasses.replace(
        config,
        api_key="bench",
        tools=dataclasses.replace(config.tools, read_pool_size=pool),
    )
    store = Store(base / "bench.db")
    executor = Executor(pool, batch_window_ms=config.tools.batch_window_ms)
    registry = default_registry()
    registry.add(SLOW_READ)
    engine = Engine.create(
        config=config,
        store=store,
        workspace=workspace,
        interactive=False,
        registry=registry,
        executor=executor,
        system_prompt="bench",
    )
    try:
        await engine.start()
        start = time.perf_counter()
        await engine.submit(p.UserTurn("go"))
        async for event in engine.events():
            if isinstance(event, p.TurnComplete):
                break
            if isinstance(event, p.TurnAborted | p.Error):
                raise SystemExit(f"bench run failed: {event}")
        wall = time.perf_counter() - start
        stats = executor.stats
        with stats.lock:
            rounds = list(stats.batch_sizes)
        snap = executor.snapshot()
        await engine.submit(p.Shutdown())
        return Run(wall, rounds, snap.p50_ms, snap.p95_ms, snap.requests)
    finally:
        executor.close()
        store.close()


async def measure(agents: int, shape: str, pool: int, runs: int) -> list[Run]:
    out = []
    with ScriptedServer(Script(agents, shape)) as server:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                home = Path(tmp) / "home"
                (home / "agents").mkdir(parents=True)
                (home / "agents" / "reader.md").write_text(READER)
                os.environ["HERMES_HOME"] = str(home)
                out.append(await one_run(Path(tmp), server, agents, pool))
    return out


def summary(runs: list[Run]) -> dict[str, float]:
    rounds = [n for r in runs for n in r.rounds]
    return {
        "wall_ms": statistics.median(r.wall_s for r in runs) * 1000,
        "calls": runs[0].requests,
        "rounds": statistics.mean(len(r.rounds) for r in runs),
        "calls_per_round": statistics.mean(rounds) if rounds else 0.0,
        "max_round": max(rounds) if rounds else 0,
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p95_ms": statistics.median(r.p95_ms for r in runs),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for var in ("OPENAI_API_KEY", "HERMES_API_KEY", "OPENAI_BASE_URL", "HERMES_BASE_URL"):
        os.environ.pop(var, None)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(
        "| shape | read pool | subagents | wall (median) | ratio vs 1 | tool calls | "
        "rounds | calls/round (mean, max) | call p50 / p95 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for shape, pool in (("sequential", 8), ("parallel", 8), ("parallel", 32)):
        one = summary(await measure(1, shape, pool, args.runs))
        four = summary(await measure(4, shape, pool, args.runs))
        for n, s in ((1, one), (4, four)):
            ratio = s["wall_ms"] / one["wall_ms"]
            print(
                f"| {shape} | {pool} | {n} | {s['wall_ms']:.0f} ms | {ratio:.2f}x | "
                f"{s['calls']:.0f} | {s['rounds']:.0f} | {s['calls_per_round']:.2f}, "
                f"{s['max_round']:.0f} | {s['p50_ms']:.0f} / {s['p95_ms']:.0f} ms |"
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
