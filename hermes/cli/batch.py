"""``hermes batch``: run the agent over a file of tasks (see :mod:`hermes.batch.run`).

Exit codes: 0 every task has a result and none ended in ``error``; 1 some task ended in
``error`` or task lines were skipped; 2 bad usage or configuration; 130 stopped with
Ctrl+C (rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hermes.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, err

if TYPE_CHECKING:  # the run's modules load only when the subcommand runs (fast start-up)
    from hermes.batch.progress import Reporter
    from hermes.batch.run import BatchOptions, BatchSummary


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``batch`` subcommand."""
    p = sub.add_parser(
        "batch",
        help="run the agent over many tasks (JSONL), locally or on Ray",
        description=(
            "Run every task of TASKS.jsonl as a headless session in its own copy of its "
            'workspace. Each line: {"id", "prompt", "workspace"?, "setup"?, '
            '"check"?, "max_turns"?, "model"?, "metadata"?}. Rerun the same command '
            "to resume: finished tasks are skipped, interrupted ones resume."
        ),
    )
    p.add_argument("tasks", metavar="TASKS.jsonl", help="the task file, one JSON object a line")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="where results go")
    p.add_argument(
        "--parallel", type=int, default=4, metavar="N", help="sessions at once (default: 4)"
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run tasks on Ray (pip install 'hermes[ray]'); no ADDRESS starts a local cluster",
    )
    p.add_argument(
        "--ray-workers", type=int, metavar="N", help="Ray worker processes (default: one per CPU)"
    )
    p.add_argument(
        "--approval-mode",
        dest="batch_approval_mode",
        choices=("ask", "auto-edit", "yolo"),
        help="approval mode of every session (default: auto-edit); what would ask is "
        "denied, and catastrophic commands never run",
    )
    p.add_argument(
        "--task-timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="time limit of each task's session in seconds (default: 600)",
    )
    p.add_argument(
        "--command-timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="time limit of each setup and check command (default: 600)",
    )
    p.add_argument(
        "--max-turns",
        dest="batch_max_turns",
        type=int,
        metavar="N",
        help="model requests per task when the task gives no max_turns",
    )
    p.add_argument(
        "--model", dest="batch_model", metavar="NAME", help="model name (a task's model wins)"
    )
    p.add_argument(
        "--base-url", dest="batch_base_url", metavar="URL", help="OpenAI-compatible endpoint"
    )
    p.add_argument("--api-key", dest="batch_api_key", metavar="KEY", help="API key")
    p.add_argument(
        "--output-format",
        dest="batch_output_format",
        choices=("text", "jsonl"),
        default="text",
        help="text: live progress and a summary; jsonl: each result as a line on stdout",
    )
    p.set_defaults(func=run)


def _options(args: argparse.Namespace) -> BatchOptions:
    from hermes.batch.run import BatchOptions, batch_config
    from hermes.config import ConfigError, Overrides, load_config
    from hermes.model.endpoint import check_endpoint

    if args.parallel < 1:
        raise ConfigError("--parallel must be at least 1")
    if args.ray_workers is not None and args.ray_workers < 1:
        raise ConfigError("--ray-workers must be at least 1")
    if args.task_timeout <= 0 or args.command_timeout <= 0:
        raise ConfigError("--task-timeout and --command-timeout must be positive")
    mode = args.batch_approval_mode or getattr(args, "approval_mode", None)
    overrides = Overrides(
        model=args.batch_model or getattr(args, "model", None),
        base_url=args.batch_base_url or getattr(args, "base_url", None),
        api_key=args.batch_api_key or getattr(args, "api_key", None),
        approval_mode=mode,
        max_turns=args.batch_max_turns or getattr(args, "max_turns", None),
    )
    config = load_config(Path.cwd(), overrides)
    check_endpoint(config)
    return BatchOptions(
        tasks_file=Path(args.tasks).expanduser(),
        run_dir=Path(args.out).expanduser(),
        config=batch_config(config, mode),
        parallel=args.parallel,
        ray_address=args.ray,
        ray_workers=args.ray_workers,
        task_timeout=args.task_timeout,
        command_timeout=args.command_timeout,
    )


def run(args: argparse.Namespace) -> int:
    """``hermes batch``."""
    from hermes.batch.progress import JsonlReporter, LineReporter, LiveReporter, summary_text
    from hermes.batch.run import TaskFileError
    from hermes.config import ConfigError

    try:
        options = _options(args)
    except ConfigError as exc:
        err(str(exc))
        return EXIT_USAGE
    jsonl = args.batch_output_format == "jsonl"
    reporter: Reporter
    if jsonl:
        reporter = JsonlReporter(sys.stdout, sys.stderr)
    elif sys.stderr.isatty():
        reporter = LiveReporter(sys.stderr)
    else:
        reporter = LineReporter(sys.stderr)
    try:
        summary = asyncio.run(_main(options, reporter))
    except TaskFileError as exc:
        err(str(exc))
        return EXIT_USAGE
    except asyncio.CancelledError:
        print("hermes: batch run stopped; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        from hermes.batch.ray_runner import RayMissing

        if isinstance(exc, RayMissing):
            err(str(exc))
            return EXIT_USAGE
        raise
    print(summary_text(summary, str(options.run_dir)), end="", file=sys.stderr if jsonl else None)
    if summary.interrupted:
        return EXIT_INTERRUPTED
    if summary.counts.get("error", 0) or summary.bad_lines:
        return EXIT_FAILED
    return EXIT_OK


async def _main(options: BatchOptions, reporter: Reporter) -> BatchSummary:
    """The run, with Ctrl+C (or SIGTERM) stopping it cleanly; a second Ctrl+C forces."""
    from hermes.batch.run import run_batch

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    presses = 0

    def on_signal() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            stop.set()
            print(
                "\nhermes: stopping: interrupting running sessions (Ctrl+C again to force)",
                file=sys.stderr,
            )
        elif main is not None:
            main.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        return await run_batch(options, reporter, stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
