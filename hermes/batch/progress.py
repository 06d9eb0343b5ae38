"""What a batch run shows while it works.

- :class:`LiveReporter`: a rich live display on stderr (a terminal): done/running/failed,
  throughput and ETA.
- :class:`LineReporter`: one line per finished task on stderr (not a terminal).
- :class:`JsonlReporter`: ``--output-format jsonl``: each result as one JSON line on
  stdout as it finishes, for scripts.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping
from typing import IO, Any

from hermes.batch.results import STATUSES, BatchSummary, TaskResult
from hermes.batch.tasks import BadLine


class Reporter:
    """Receives the run's progress; the base class shows nothing."""

    def __init__(self) -> None:
        self.total = 0
        self.counts: Counter[str] = Counter()
        self.running: set[str] = set()
        self.ran = 0
        self.todo = 0
        self.started_at = time.monotonic()

    def begin(self, total: int, done: Mapping[str, TaskResult]) -> None:
        """The run starts: ``total`` tasks, ``done`` of them finished by earlier runs."""
        self.total = total
        self.counts.update(r.status for r in done.values())
        self.todo = total - len(done)
        self.started_at = time.monotonic()

    def bad_line(self, bad: BadLine) -> None:
        """A task line was skipped."""

    def started(self, task_id: str) -> None:
        """A task began."""
        self.running.add(task_id)

    def stopped(self, task_id: str) -> None:
        """A task was interrupted by the stop; it resumes next run."""
        self.running.discard(task_id)

    def finished(self, result: TaskResult) -> None:
        """A task has its result."""
        self.running.discard(result.id)
        self.counts[result.status] += 1
        self.ran += 1

    def close(self) -> None:
        """The run is over (or failed): stop any live display."""

    # ------------------------------------------------------------------ figures

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def rate(self) -> float:
        """Tasks finished per second by this run."""
        elapsed = time.monotonic() - self.started_at
        return self.ran / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds left at the current rate (None before the first result)."""
        rate = self.rate()
        return (self.todo - self.ran) / rate if rate > 0 else None

    def status_line(self) -> str:
        """``done 12/20 · running 5 · passed 10 · failed 1 ...``."""
        parts = [f"done {self.done}/{self.total}", f"running {len(self.running)}"]
        parts += [f"{s} {self.counts[s]}" for s in STATUSES if self.counts[s] or s == "failed"]
        parts.append(f"{self.rate():.2f} tasks/s")
        eta = self.eta()
        parts.append(f"ETA {_clock(eta)}" if eta is not None else "ETA --")
        return " · ".join(parts)


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class LineReporter(Reporter):
    """Plain lines on ``err`` (for logs and pipes)."""

    def __init__(self, err: IO[str]) -> None:
        super().__init__()
        self.err = err

    def bad_line(self, bad: BadLine) -> None:
        self.err.write(f"hermes: skipped task {bad}\n")
        self.err.flush()

    def finished(self, result: TaskResult) -> None:
        super().finished(result)
        why = f" ({result.reason.splitlines()[0][:120]})" if result.reason else ""
        self.err.write(
            f"[{self.done}/{self.total}] {result.id}: {result.status}{why}, "
            f"{result.turns} turns, {result.wall_time_s:.1f} s\n"
        )
        self.err.flush()


class LiveReporter(Reporter):
    """A rich live display on a terminal: progress bar, counts, throughput, ETA."""

    def __init__(self, err: IO[str]) -> None:
        super().__init__()
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=err, stderr=True)
        self.live = Live(
            get_renderable=self._render,
            console=self.console,
            refresh_per_second=4,
            transient=True,
        )

    def _render(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid()
        grid.add_row(ProgressBar(total=max(1, self.total), completed=self.done, width=40))
        failed = self.counts["failed"] + self.counts["error"] + self.counts["timeout"]
        grid.add_row(Text(self.status_line(), style="red" if failed else "green"))
        return grid

    def begin(self, total: int, done: Mapping[str, TaskResult]) -> None:
        super().begin(total, done)
        self.live.start()

    def bad_line(self, bad: BadLine) -> None:
        self.console.print(f"[yellow]skipped task {bad}[/]", highlight=False, markup=True)

    def finished(self, result: TaskResult) -> None:
        super().finished(result)
        if result.status != "passed":
            why = f": {result.reason.splitlines()[0][:120]}" if result.reason else ""
            self.console.print(f"{result.id}: {result.status}{why}", highlight=False)

    def close(self) -> None:
        self.live.stop()


class JsonlReporter(Reporter):
    """Each result as a JSON line on ``out``; skipped lines on ``err``."""

    def __init__(self, out: IO[str], err: IO[str]) -> None:
        super().__init__()
        self.out = out
        self.err = err

    def bad_line(self, bad: BadLine) -> None:
        self.err.write(f"hermes: skipped task {bad}\n")
        self.err.flush()

    def finished(self, result: TaskResult) -> None:
        super().finished(result)
        self.out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
        self.out.flush()


def summary_text(summary: BatchSummary, run_dir: str) -> str:
    """The closing lines of a text-mode run."""
    counts = ", ".join(f"{summary.counts.get(s, 0)} {s}" for s in STATUSES)
    lines = [f"{summary.total} tasks: {counts}"]
    if summary.already_done:
        were = "was" if summary.already_done == 1 else "were"
        lines.append(f"{summary.already_done} {were} finished by an earlier run and skipped")
    if summary.unfinished:
        lines.append(f"{summary.unfinished} not finished; rerun the same command to resume them")
    if summary.bad_lines:
        lines.append(f"{summary.bad_lines} task line(s) skipped as invalid")
    ex = summary.executor
    lines.append(
        f"{summary.ran} ran in {summary.wall_time_s:.1f} s ({summary.throughput:.2f} tasks/s); "
        f"tool calls: {ex.requests}, p50 {ex.p50_ms:.1f} ms, p95 {ex.p95_ms:.1f} ms"
    )
    lines.append(f"results: {run_dir}/results.jsonl, trajectories: {run_dir}/trajectories.jsonl")
    return "\n".join(lines) + "\n"
