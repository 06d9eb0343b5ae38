"""Batch runs: the agent over many tasks (evaluations, trajectories for fine-tuning,
sweeping a change over many repositories).

``hermes batch TASKS.jsonl --out RUN_DIR [--parallel N] [--ray [ADDRESS]]`` runs every
task as a headless session in its own copy of its workspace; locally, N sessions at
once in one process sharing one executor and one database; with ``--ray``, as Ray
tasks on worker processes that each keep their own database file in RUN_DIR.

RUN_DIR holds ``results.jsonl`` (one line per finished task), ``trajectories.jsonl``
(each session's messages in OpenAI chat format, with the tools), ``summary.json``, the
session databases and the task journals. Rerunning the same command skips finished
tasks and resumes unfinished ones from their sessions. Stopping (Ctrl+C) interrupts the
running sessions, which keeps everything they produced.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from hermes.batch.local_runner import run_local
from hermes.batch.progress import Reporter
from hermes.batch.results import STATUSES, BatchSummary, RunDir, TaskOutcome
from hermes.batch.task_run import RunSettings
from hermes.batch.tasks import TaskFileError, parse_tasks
from hermes.config import Config
from hermes.protocol import APPROVAL_MODES

__all__ = ["BatchOptions", "BatchSummary", "TaskFileError", "batch_config", "run_batch"]

DEFAULT_APPROVAL_MODE = "auto-edit"


@dataclass(frozen=True)
class BatchOptions:
    """Everything one ``hermes batch`` invocation decides."""

    tasks_file: Path
    run_dir: Path
    config: Config
    parallel: int = 4
    ray_address: str | None = None  # None: run locally; "": start a local Ray cluster
    ray_workers: int | None = None
    task_timeout: float = 600.0
    command_timeout: float = 600.0


def batch_config(config: Config, approval_mode: str | None) -> Config:
    """The config batch sessions run with: the given approval mode (default
    ``auto-edit``) and no workspace checkpoints (nobody undoes a batch turn)."""
    mode = approval_mode or DEFAULT_APPROVAL_MODE
    if mode not in APPROVAL_MODES:
        raise ValueError(f"approval mode must be one of {', '.join(APPROVAL_MODES)}: {mode!r}")
    approvals = dataclasses.replace(config.approvals, mode=mode)
    checkpoints = dataclasses.replace(config.checkpoints, enabled=False)
    return dataclasses.replace(config, approvals=approvals, checkpoints=checkpoints)


class _Recorder:
    """Writes each finished task to RUN_DIR and tells the reporter."""

    def __init__(self, run: RunDir, reporter: Reporter) -> None:
        self.run = run
        self.reporter = reporter
        self.ran = 0
        self.unfinished = 0

    def started(self, task_id: str) -> None:
        self.reporter.started(task_id)

    def stopped(self, task_id: str) -> None:
        self.unfinished += 1
        self.reporter.stopped(task_id)

    async def finished(self, outcome: TaskOutcome) -> None:
        await asyncio.to_thread(self.run.record, outcome)
        self.ran += 1
        self.reporter.finished(outcome.result)


async def run_batch(
    options: BatchOptions, reporter: Reporter, stop: asyncio.Event | None = None
) -> BatchSummary:
    """Run (or resume) a batch to its end, or until ``stop`` is set.

    Raises :class:`TaskFileError` when the task file cannot be read, and
    :class:`hermes.batch.ray_runner.RayMissing` for ``--ray`` without Ray.
    """
    stop = stop or asyncio.Event()
    started = time.monotonic()
    taskset = parse_tasks(options.tasks_file)
    for bad in taskset.bad:
        reporter.bad_line(bad)
    run = RunDir(options.run_dir.resolve())
    await asyncio.to_thread(run.open)
    ids = {t.id for t in taskset.tasks}
    done = {k: r for k, r in run.finished.items() if k in ids}
    todo = [t for t in taskset.tasks if t.id not in done]
    settings = RunSettings(
        run_dir=run.path,
        config=options.config,
        task_timeout=options.task_timeout,
        command_timeout=options.command_timeout,
    )
    recorder = _Recorder(run, reporter)
    reporter.begin(len(taskset.tasks), done)
    try:
        if options.ray_address is not None:
            from hermes.batch.ray_runner import run_ray

            stats = await run_ray(
                todo,
                run.marks,
                settings,
                options.parallel,
                recorder,
                stop,
                address=options.ray_address,
                workers=options.ray_workers,
            )
        else:
            stats = await run_local(todo, run.marks, settings, options.parallel, recorder, stop)
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for task_id, result in run.finished.items():
            if task_id in ids:
                counts[result.status] += 1
        finished = sum(counts.values())
        summary = BatchSummary(
            total=len(taskset.tasks),
            counts=counts,
            already_done=len(done),
            ran=recorder.ran,
            unfinished=len(taskset.tasks) - finished,
            bad_lines=len(taskset.bad),
            interrupted=stop.is_set(),
            wall_time_s=round(time.monotonic() - started, 3),
            parallel=options.parallel,
            ray=options.ray_address is not None,
            executor=stats,
        )
        await asyncio.to_thread(run.write_summary, summary.to_json())
    finally:
        reporter.close()
    return summary
