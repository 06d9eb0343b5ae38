"""Reading a batch run's task file: one JSON object a line.

Each line is ``{"id", "prompt", "workspace"?, "setup"?, "check"?, "max_turns"?,
"model"?, "metadata"?}``. A line that is not valid JSON, misses its id or prompt, names
a workspace that does not exist, repeats an id or carries an unknown key is reported with
its line number and skipped; the good lines still run.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KNOWN_KEYS = ("id", "prompt", "workspace", "setup", "check", "max_turns", "model", "metadata")
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Task:
    """One task of a batch run, validated. ``workspace`` is an absolute path or a URL."""

    id: str
    prompt: str
    line: int = 0
    workspace: str | None = None
    setup: str | None = None
    check: str | None = None
    max_turns: int | None = None
    model: str | None = None
    metadata: Any = None

    @property
    def slug(self) -> str:
        """A file-name-safe form of the id (unique: a hash is added when it had to change)."""
        safe = _UNSAFE.sub("_", self.id)[:80].strip(".") or "task"
        if safe == self.id:
            return safe
        return f"{safe}-{hashlib.sha1(self.id.encode('utf-8')).hexdigest()[:8]}"

    @property
    def workspace_is_url(self) -> bool:
        """True when the workspace is a repository URL to clone."""
        return self.workspace is not None and bool(_URL.match(self.workspace))


@dataclass(frozen=True)
class BadLine:
    """A task line that was skipped, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class TaskSet:
    """The valid tasks of a file, in file order, and the lines that were skipped."""

    tasks: tuple[Task, ...]
    bad: tuple[BadLine, ...]


class TaskFileError(Exception):
    """The task file itself cannot be read."""


def parse_tasks(path: Path) -> TaskSet:
    """Read and validate ``path``. Relative workspaces resolve against the file's folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TaskFileError(f"task file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(f"cannot read task file {path}: {exc}") from exc
    return parse_lines(text.splitlines(), path.resolve().parent)


def parse_lines(lines: list[str], base_dir: Path) -> TaskSet:
    """Validate task lines (numbered from 1); blank lines are ignored."""
    tasks: list[Task] = []
    bad: list[BadLine] = []
    first_seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            task = parse_line(raw, number, base_dir)
        except ValueError as exc:
            bad.append(BadLine(number, str(exc)))
            continue
        if task.id in first_seen:
            bad.append(
                BadLine(number, f"duplicate id {task.id!r} (first on line {first_seen[task.id]})")
            )
            continue
        first_seen[task.id] = number
        tasks.append(task)
    return TaskSet(tuple(tasks), tuple(bad))


def parse_line(raw: str, number: int, base_dir: Path) -> Task:
    """One task from one line; raises ValueError saying what is wrong."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"a task must be a JSON object, not {type(data).__name__}")
    unknown = sorted(set(data) - set(KNOWN_KEYS))
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(map(repr, unknown))} (known: {', '.join(KNOWN_KEYS)}; "
            "put extra data under 'metadata')"
        )
    task_id = data.get("id")
    if isinstance(task_id, int) and not isinstance(task_id, bool):
        task_id = str(task_id)
    if not isinstance(task_id, str) or not task_id.strip():
        raise ValueError("missing id (a non-empty string)")
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"task {task_id!r}: missing prompt (a non-empty string)")
    max_turns = data.get("max_turns")
    if max_turns is not None and (
        not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1
    ):
        raise ValueError(f"task {task_id!r}: max_turns must be a whole number of at least 1")
    return Task(
        id=task_id,
        prompt=prompt,
        line=number,
        workspace=_workspace(data.get("workspace"), task_id, base_dir),
        setup=_command(data, "setup", task_id),
        check=_command(data, "check", task_id),
        max_turns=max_turns,
        model=_command(data, "model", task_id),
        metadata=data.get("metadata"),
    )


def _command(data: dict[str, Any], key: str, task_id: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"task {task_id!r}: {key} must be a non-empty string")
    return value


def _workspace(value: Any, task_id: str, base_dir: Path) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"task {task_id!r}: workspace must be a non-empty string")
    if _URL.match(value) and not value.lower().startswith("file://"):
        return value
    raw = value[len("file://") :] if value.lower().startswith("file://") else value
    path = (base_dir / Path(raw).expanduser()).resolve()
    if not path.exists():
        raise ValueError(f"task {task_id!r}: workspace {value} does not exist ({path})")
    if not path.is_dir():
        raise ValueError(f"task {task_id!r}: workspace {value} is not a directory")
    return str(path)
