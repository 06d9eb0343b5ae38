"""The local batch runner: N sessions at once in one process, on one asyncio loop.

All sessions share one :class:`~hermes.execution.executor.Executor` (which batches tool calls
across sessions and keeps the stats) and one database, ``RUN_DIR/sessions.db``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping, Sequence

from hermes.batch.results import LOCAL_DB, STATE, Journal, Listener, Mark, TaskOutcome, TaskResult
from hermes.batch.task_run import RunSettings, WorkerContext, run_task
from hermes.batch.tasks import Task
from hermes.execution.executor import Executor
from hermes.protocol import ExecutorStats
from hermes.store.sessions import Store


def crash_outcome(task: Task, reason: str) -> TaskOutcome:
    """The result of a task whose run failed outside its session."""
    return TaskOutcome(
        TaskResult(id=task.id, status="error", reason=reason, metadata=task.metadata)
    )


def make_executor(settings: RunSettings) -> Executor:
    """The executor a process's sessions share (batching window from the config)."""
    tools = settings.config.tools
    return Executor(tools.read_pool_size, batch_window_ms=tools.batch_window_ms)


async def run_one(task: Task, mark: Mark | None, ctx: WorkerContext) -> TaskOutcome | None:
    """``run_task`` that turns even an unexpected failure into an ``error`` result."""
    try:
        return await run_task(task, mark, ctx)
    except Exception as exc:
        return crash_outcome(task, f"{type(exc).__name__}: {exc}")


async def run_local(
    tasks: Sequence[Task],
    marks: Mapping[str, Mark],
    settings: RunSettings,
    parallel: int,
    listener: Listener,
    stop: asyncio.Event,
) -> ExecutorStats:
    """Run ``tasks``, at most ``parallel`` at once, until done or ``stop`` is set (then
    running sessions are interrupted and left to resume). Returns the executor's stats."""
    store = Store(settings.run_dir / LOCAL_DB)
    ctx = WorkerContext(
        settings=settings,
        store=store,
        database=LOCAL_DB,
        executor=make_executor(settings),
        journal=Journal(settings.run_dir / STATE),
        stop=stop,
    )
    queue = deque(tasks)

    async def worker() -> None:
        while queue and not stop.is_set():
            task = queue.popleft()
            listener.started(task.id)
            outcome = await run_one(task, marks.get(task.id), ctx)
            if outcome is None:
                listener.stopped(task.id)
            else:
                await listener.finished(outcome)

    try:
        await asyncio.gather(*(worker() for _ in range(max(1, min(parallel, len(tasks))))))
        return ctx.executor.snapshot()
    finally:
        await ctx.aclose()
