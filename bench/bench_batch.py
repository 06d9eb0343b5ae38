"""Batch-run throughput (issue 10).

200 short tasks, each three tool calls (write_file, read_file, a read-only ``terminal``
command) and a final answer: four model requests, each answered after 50 ms by a
scripted model server running in its own process. Runs the batch runner at
``--parallel`` 1, 10 and 50 locally and (with ``--ray``) on a local Ray cluster, and
reports tasks/s and the shared executor's tool-call latency p50/p95 at each level.

The goal is near-linear speed-up until the model's latency, not hermes, is the limit:
a task needs at least 4 x 50 ms of model time, so P sessions can finish at most
P / 0.2 s = 5·P tasks/s.

Run: python bench/bench_batch.py [--tasks 200] [--levels 1,10,50] [--ray] [--delay 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from hermes.batch.progress import Reporter
from hermes.batch.results import BatchSummary, TaskResult
from hermes.batch.run import BatchOptions, batch_config, run_batch
from hermes.config import Overrides, load_config
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ChatRequest, ScriptedCall, ScriptedReply, ScriptFn

TASK_ID = re.compile(r"\[task ([^\]]+)\]")


def script(delay: float) -> ScriptFn:
    """The per-task script: step = assistant messages with tool calls so far."""

    def reply(request: ChatRequest) -> ScriptedReply:
        messages = request.messages
        first = next(m for m in messages if m.get("role") == "user")
        match = TASK_ID.search(str(first.get("content")))
        task_id = match.group(1) if match else "?"
        step = sum(1 for m in messages if m.get("role") == "assistant" and m.get("tool_calls"))
        calls = [
            ScriptedCall("write_file", json.dumps({"path": "answer.txt", "content": task_id})),
            ScriptedCall("read_file", json.dumps({"path": "answer.txt"})),
            ScriptedCall("terminal", json.dumps({"command": "cat answer.txt"})),
        ]
        if step < len(calls):
            return ScriptedReply(tool_calls=(calls[step],), delay_seconds=delay)
        return ScriptedReply(text=f"done {task_id}", delay_seconds=delay)

    return reply


def serve(delay: float) -> None:
    """The scripted model server (run in its own process so it does not share our GIL)."""
    server = ScriptedServer(script(delay)).start()
    print(f"READY {server.base_url}", flush=True)
    threading.Event().wait()


class Timing(Reporter):
    """Records when results arrive (for the steady-state rate)."""

    def __init__(self) -> None:
        super().__init__()
        self.finish_times: list[float] = []

    def finished(self, result: TaskResult) -> None:
        super().finished(result)
        self.finish_times.append(time.perf_counter())

    def steady_rate(self) -> float:
        """Tasks/s between the first and the last result (start-up excluded)."""
        t = self.finish_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0


def write_tasks(path: Path, n: int, prefix: str) -> None:
    with path.open("w") as f:
        for i in range(n):
            tid = f"{prefix}{i:04d}"
            f.write(json.dumps({"id": tid, "prompt": f"[task {tid}] write your id"}) + "\n")


@dataclasses.dataclass(frozen=True)
class Level:
    """One measured run."""

    runner: str
    parallel: int
    summary: BatchSummary
    steady: float  # tasks/s between the first and the last result
    cpu_ms: float | None  # CPU of this process per task (local runs only)
    model_p50_ms: float  # model-call latency as hermes saw it (recorded per request)


def model_latency_p50(run_dir: Path) -> float:
    """The median recorded latency of every model request of the run."""
    data: list[float] = []
    for db in run_dir.glob("*.db"):
        con = sqlite3.connect(db)
        try:
            data += [float(r[0]) for r in con.execute("SELECT latency_ms FROM model_calls")]
        finally:
            con.close()
    return statistics.median(data) if data else 0.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def one_level(base: Path, url: str, n: int, parallel: int, ray_address: str | None) -> Level:
    name = f"{'ray' if ray_address is not None else 'local'}-{parallel}"
    tasks = base / f"{name}.jsonl"
    write_tasks(tasks, n, name)
    config = load_config(base, Overrides(base_url=url), env={})
    config = batch_config(dataclasses.replace(config, api_key="bench"), "auto-edit")
    options = BatchOptions(
        tasks_file=tasks,
        run_dir=base / name,
        config=config,
        parallel=parallel,
        ray_address=ray_address,
    )
    timing = Timing()
    cpu = _cpu()
    summary = await run_batch(options, timing)
    cpu = _cpu() - cpu
    assert summary.counts["passed"] == n, summary
    return Level(
        "ray" if ray_address is not None else "local",
        parallel,
        summary,
        timing.steady_rate(),
        None if ray_address is not None else cpu * 1000 / n,
        model_latency_p50(base / name),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--levels", default="1,10,50")
    parser.add_argument("--ray", action="store_true", help="also run on a local Ray cluster")
    parser.add_argument("--ray-levels", default="10,50")
    parser.add_argument("--delay", type=float, default=0.05, help="model latency (s)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.delay)
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--delay", str(args.delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split()[1]
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["HERMES_HOME"] = str(Path(tmp) / "home")
            rows = asyncio.run(_levels(Path(tmp), url, args))
    finally:
        server.terminate()
        server.wait(10)
    print(f"\n{args.tasks} tasks x 3 tool calls, model latency {args.delay * 1000:.0f} ms")
    print(
        "| runner | --parallel | tasks/s | tasks/s steady | ideal 5·P | speed-up | "
        "executor p50 / p95 ms | model call p50 ms | hermes CPU ms/task |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    base_rate = rows[0].summary.throughput if rows else 0.0
    for row in rows:
        ex = row.summary.executor
        ideal = min(row.parallel, args.tasks) / (4 * args.delay)
        speedup = row.summary.throughput / base_rate if base_rate else 0.0
        cpu = f"{row.cpu_ms:.0f}" if row.cpu_ms is not None else "n/a"
        print(
            f"| {row.runner} | {row.parallel} | {row.summary.throughput:.1f} | "
            f"{row.steady:.1f} | {ideal:.0f} | {speedup:.1f}x | "
            f"{ex.p50_ms:.1f} / {ex.p95_ms:.1f} | {row.model_p50_ms:.0f} | {cpu} |"
        )


async def _levels(base: Path, url: str, args: argparse.Namespace) -> list[Level]:
    rows = []
    await one_level(base, url, 5, 5, None)  # warm-up: imports, first connections
    for parallel in [int(x) for x in args.levels.split(",")]:
        row = await one_level(base, url, args.tasks, parallel, None)
        rows.append(row)
        print(f"local --parallel {parallel}: {row.summary.throughput:.1f} tasks/s", flush=True)
    if args.ray:
        import ray

        ray.init(include_dashboard=False, log_to_driver=False)
        try:
            for parallel in [int(x) for x in args.ray_levels.split(",")]:
                row = await one_level(base, url, args.tasks, parallel, "")
                rows.append(row)
                print(
                    f"ray --parallel {parallel}: {row.summary.throughput:.1f} tasks/s", flush=True
                )
        finally:
            ray.shutdown()
    return rows


if __name__ == "__main__":
    main()
