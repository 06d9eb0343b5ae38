"""The Ray batch runner (``hermes batch --ray [ADDRESS]``, extra ``hermes[ray]``).

Each task is a Ray task: a call of an async worker actor. A worker is one process
that multiplexes many sessions like the local runner does, with its own executor and
its own database file, ``RUN_DIR/worker-<n>.db`` (and journal
``worker-<n>.state.jsonl``); the driver writes results and trajectories as calls
return. ``ray.init()`` with no address starts a local cluster, so this runs on one
machine too; an address (or ``auto``) joins an existing cluster, whose nodes must all
see RUN_DIR (a shared file system).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from hermes.batch.local_runner import crash_outcome, make_executor, run_one
from hermes.batch.results import Journal, Listener, Mark, TaskOutcome
from hermes.batch.task_run import RunSettings, WorkerContext
from hermes.batch.tasks import Task
from hermes.protocol import ExecutorStats
from hermes.store.sessions import Store

_ENV = ("HERMES_HOME",)


class RayMissing(Exception):
    """Ray is not installed."""


class BatchWorker:
    """A Ray actor running many tasks concurrently on its own asyncio loop."""

    def __init__(self, worker_id: int, settings: RunSettings, env: dict[str, str]) -> None:
        os.environ.update(env)
        self.worker_id = worker_id
        self.settings = settings
        self.ctx: WorkerContext | None = None

    def _context(self) -> WorkerContext:
        if self.ctx is None:
            name = f"worker-{self.worker_id}"
            run_dir = self.settings.run_dir
            self.ctx = WorkerContext(
                settings=self.settings,
                store=Store(run_dir / f"{name}.db"),
                database=f"{name}.db",
                executor=make_executor(self.settings),
                journal=Journal(run_dir / f"{name}.state.jsonl"),
            )
        return self.ctx

    async def run(self, task: Task, mark: Mark | None) -> TaskOutcome | None:
        """Run one task; None when stopped before it finished."""
        try:
            ctx = self._context()
        except Exception as exc:
            return crash_outcome(task, f"the worker could not start: {exc}")
        return await run_one(task, mark, ctx)

    async def stop(self) -> None:
        """Interrupt every running session (they resume on the next run)."""
        self._context().stop.set()

    async def latencies(self) -> list[float]:
        """The tool-call latencies (ms) of this worker's executor."""
        if self.ctx is None:
            return []
        stats = self.ctx.executor.stats
        with stats.lock:
            return list(stats.latencies_ms)

    async def close(self) -> None:
        """Close the database and the executor."""
        if self.ctx is not None:
            await self.ctx.aclose()
            self.ctx = None


def _percentile(data: list[float], q: float) -> float:
    if not data:
        return 0.0
    return data[min(len(data) - 1, int(q * len(data)))]


def merged_stats(latencies: list[list[float]]) -> ExecutorStats:
    """One set of executor stats over every worker's calls."""
    data = sorted(x for worker in latencies for x in worker)
    return ExecutorStats(
        requests=len(data),
        errors=0,
        p50_ms=round(_percentile(data, 0.5), 3),
        p95_ms=round(_percentile(data, 0.95), 3),
    )


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RayMissing(
            "--ray needs Ray: install it with pip install 'hermes[ray]' (or pip install ray)"
        ) from exc
    return ray


async def run_ray(
    tasks: Sequence[Task],
    marks: Mapping[str, Mark],
    settings: RunSettings,
    parallel: int,
    listener: Listener,
    stop: asyncio.Event,
    *,
    address: str = "",
    workers: int | None = None,
) -> ExecutorStats:
    """Run ``tasks`` on Ray, at most ``parallel`` at once over ``workers`` actors (default:
    one per CPU of the cluster, at most ``parallel``). Starts a local cluster when Ray is
    not initialised and ``address`` is empty; shuts down what it started."""
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=address or None,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    actors: list[Any] = []
    try:
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        count = workers or max(1, min(parallel, int(cpus) or 1, len(tasks) or 1))
        per_worker = math.ceil(parallel / count)
        env = {k: os.environ[k] for k in _ENV if k in os.environ}
        actor_cls = ray.remote(BatchWorker).options(
            num_cpus=min(1.0, cpus / count), max_concurrency=per_worker + 4
        )
        actors = [actor_cls.remote(i, settings, env) for i in range(count)]
        await _drive(actors, tasks, marks, parallel, listener, stop)
        latencies = await asyncio.gather(*(_wait(a.latencies.remote()) for a in actors))
        return merged_stats(list(latencies))
    finally:
        for actor in actors:
            try:
                await _wait(actor.close.remote())
            except Exception:
                pass  # a dead worker has nothing left to close
            ray.kill(actor)
        if started_here:
            ray.shutdown()


def _wait(ref: Any) -> asyncio.Future[Any]:
    return asyncio.wrap_future(ref.future())


async def _drive(
    actors: list[Any],
    tasks: Sequence[Task],
    marks: Mapping[str, Mark],
    parallel: int,
    listener: Listener,
    stop: asyncio.Event,
) -> None:
    pending = deque(tasks)
    load = [0] * len(actors)
    inflight: dict[asyncio.Future[Any], tuple[Task, int]] = {}
    stopper: asyncio.Task[bool] | None = asyncio.create_task(stop.wait())

    def submit() -> None:
        while pending and len(inflight) < parallel and not stop.is_set():
            task = pending.popleft()
            i = load.index(min(load))
            load[i] += 1
            listener.started(task.id)
            inflight[_wait(actors[i].run.remote(task, marks.get(task.id)))] = (task, i)

    submit()
    try:
        while inflight:
            waiting: set[asyncio.Future[Any]] = set(inflight)
            if stopper is not None:
                waiting.add(stopper)
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if stopper is not None and stopper in done:
                stopper = None
                for actor in actors:
                    actor.stop.remote()
            for fut in done:
                if fut not in inflight:
                    continue
                task, i = inflight.pop(fut)
                load[i] -= 1
                try:
                    outcome = fut.result()
                except Exception as exc:  # the worker died, or Ray failed the call
                    outcome = crash_outcome(task, f"the Ray worker failed: {exc}")
                if outcome is None:
                    listener.stopped(task.id)
                else:
                    await listener.finished(outcome)
            submit()
    finally:
        if stopper is not None:
            stopper.cancel()
