"""A batch run's directory: results, trajectories, the task journal, and resume state.

``RUN_DIR/results.jsonl`` holds one line per finished task; a line there is the commit
point (its trajectory is written just before it). ``state.jsonl`` (and each Ray
worker's ``worker-<id>.state.jsonl``) journals which session a task runs in, so a rerun
skips finished tasks and resumes unfinished sessions. Every line is appended with one
``write`` and fsynced; a line cut off by a kill is dropped when the run is reopened.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from hermes.durable import write_atomic
from hermes.protocol import ExecutorStats, to_dict
from hermes.redact import redact_json

Status = Literal["passed", "failed", "error", "timeout"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "timeout")
RESULTS = "results.jsonl"
TRAJECTORIES = "trajectories.jsonl"
STATE = "state.jsonl"
LOCAL_DB = "sessions.db"
SUMMARY = "summary.json"


@dataclass(frozen=True)
class TaskResult:
    """How one task ended; one line of ``results.jsonl``."""

    id: str
    status: Status
    reason: str = ""
    check_exit_code: int | None = None
    check_output: str = ""
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_time_s: float = 0.0
    session_id: str = ""
    database: str = ""
    workspace: str = ""
    model: str = ""
    resumed: bool = False
    metadata: Any = None

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to ``results.jsonl``."""
        out = asdict(self)
        out["tokens"] = self.tokens
        if self.metadata is None:
            del out["metadata"]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskResult:
        """Read a ``results.jsonl`` object back (unknown keys are ignored)."""
        names = cls.__dataclass_fields__
        kwargs = {k: v for k, v in data.items() if k in names}
        if kwargs.get("status") not in STATUSES or not isinstance(kwargs.get("id"), str):
            raise ValueError("not a task result")
        return cls(**kwargs)


@dataclass(frozen=True)
class TaskOutcome:
    """What running a task produced: its result and (once a session existed) trajectory."""

    result: TaskResult
    trajectory: dict[str, Any] | None = None


@dataclass(frozen=True)
class Mark:
    """A journal entry: task ``id`` runs in ``session_id`` of ``database`` (a file in
    RUN_DIR). ``phase`` is ``session`` (the workspace is ready and the session exists) or
    ``agent_done`` (the agent finished; ``agent_status``/``reason`` say how)."""

    id: str
    session_id: str
    database: str
    workspace: str
    phase: Literal["session", "agent_done"] = "session"
    agent_status: str = ""
    reason: str = ""
    t: float = field(default_factory=time.time)


class Listener(Protocol):
    """What a runner tells the run about its tasks."""

    def started(self, task_id: str) -> None:
        """The task began (or resumed)."""

    def stopped(self, task_id: str) -> None:
        """The run was stopped before the task finished; it resumes next time."""

    async def finished(self, outcome: TaskOutcome) -> None:
        """The task has a result."""


@dataclass(frozen=True)
class BatchSummary:
    """How a run went: every task of the file, counted by status."""

    total: int
    counts: dict[str, int]
    already_done: int
    ran: int
    unfinished: int
    bad_lines: int
    interrupted: bool
    wall_time_s: float
    parallel: int
    ray: bool
    executor: ExecutorStats

    @property
    def throughput(self) -> float:
        """Tasks finished by this run per second."""
        return self.ran / self.wall_time_s if self.wall_time_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The JSON written to ``summary.json``."""
        out = asdict(self)
        out["executor"] = to_dict(self.executor)
        out["tasks_per_second"] = round(self.throughput, 3)
        return out


def append_line(path: Path, obj: dict[str, Any]) -> None:
    """Append one JSON line with a single write, then fsync (safe with other appenders)."""
    data = (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Appends :class:`Mark` lines to one journal file (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, mark: Mark) -> None:
        """Record ``mark`` durably."""
        with self._lock:
            append_line(self.path, asdict(mark))


def _read_objects(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """The JSON objects of a JSONL file, and whether any line was unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], False
    objects: list[dict[str, Any]] = []
    damaged = False
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            damaged = True
            continue
        if isinstance(obj, dict) and isinstance(obj.get("id"), str):
            objects.append(obj)
        else:
            damaged = True
    if raw and not raw.endswith(b"\n"):
        damaged = True
    return objects, damaged


def _redacted(obj: dict[str, Any]) -> dict[str, Any]:
    out = redact_json(obj)
    assert isinstance(out, dict)
    return out


def _rewrite(path: Path, objects: Iterable[dict[str, Any]]) -> None:
    text = "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects)
    write_atomic(path, text.encode("utf-8"))


class RunDir:
    """The output directory of a run; :meth:`open` loads what an earlier run left."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.finished: dict[str, TaskResult] = {}
        self.marks: dict[str, Mark] = {}
        self._lock = threading.Lock()

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS

    @property
    def trajectories_path(self) -> Path:
        return self.path / TRAJECTORIES

    def workspace_for(self, slug: str) -> Path:
        """Where a task's copy of its workspace lives."""
        return self.path / "workspaces" / slug

    def open(self) -> None:
        """Create the directory; load finished results and journal marks, repairing lines
        cut off by a kill and dropping trajectories of tasks that have no result."""
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "workspaces").mkdir(exist_ok=True)
        results, damaged = _read_objects(self.results_path)
        kept: list[dict[str, Any]] = []
        for obj in results:
            try:
                result = TaskResult.from_json(obj)
            except (TypeError, ValueError):
                damaged = True
                continue
            if result.id in self.finished:
                damaged = True
                continue
            self.finished[result.id] = result
            kept.append(obj)
        if damaged:
            _rewrite(self.results_path, kept)
        trajectories, damaged = _read_objects(self.trajectories_path)
        seen: set[str] = set()
        keep_traj = []
        for obj in trajectories:
            if obj["id"] in self.finished and obj["id"] not in seen:
                seen.add(obj["id"])
                keep_traj.append(obj)
        if damaged or len(keep_traj) != len(trajectories):
            _rewrite(self.trajectories_path, keep_traj)
        self.marks = self._load_marks()

    def _load_marks(self) -> dict[str, Mark]:
        marks: dict[str, Mark] = {}
        journals = [self.path / STATE, *sorted(self.path.glob("worker-*.state.jsonl"))]
        for journal in journals:
            objects, _ = _read_objects(journal)
            for obj in objects:
                try:
                    mark = Mark(**{k: v for k, v in obj.items() if k in Mark.__dataclass_fields__})
                except TypeError:
                    continue
                old = marks.get(mark.id)
                if old is None or mark.t >= old.t:
                    marks[mark.id] = mark
        return marks

    def record(self, outcome: TaskOutcome) -> None:
        """Write a finished task: its trajectory, then its result line (the commit); every
        string in them redacted (:func:`hermes.redact.redact_json`)."""
        with self._lock:
            if outcome.trajectory is not None:
                append_line(self.trajectories_path, _redacted(outcome.trajectory))
            append_line(self.results_path, _redacted(outcome.result.to_json()))
            self.finished[outcome.result.id] = outcome.result

    def write_summary(self, summary: dict[str, Any]) -> None:
        """``summary.json``: counts, throughput and executor stats of the last run."""
        text = json.dumps(summary, indent=2) + "\n"
        write_atomic(self.path / SUMMARY, text.encode("utf-8"))
