"""Helpers for the batch-run tests: a per-task scripted model, task files, checks.

The scripted model reads the task id from the first user message (``[task ID] ...``)
and plays that task's script by step (the number of assistant messages with tool calls
so far), so any number of sessions can share one server in any interleaving, and a
resumed session carries on where it stopped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hermes.testing.scripted.types import ChatRequest, ScriptedCall, ScriptedReply
from hermes.testing.scripted.validate import validate_chat_body

TASK_ID = re.compile(r"\[task ([^\]]+)\]")
Special = Callable[[int], ScriptedReply]


def call(name: str, **args: object) -> ScriptedCall:
    return ScriptedCall(name, json.dumps(args))


def standard_step(task_id: str, step: int, delay: float = 0.0) -> ScriptedReply:
    """Write answer.txt, read it, cat it, then answer: three tool calls, four requests."""
    plan = [
        ScriptedReply(
            tool_calls=(call("write_file", path="answer.txt", content=f"{task_id}\n"),),
            delay_seconds=delay,
        ),
        ScriptedReply(tool_calls=(call("read_file", path="answer.txt"),), delay_seconds=delay),
        ScriptedReply(
            tool_calls=(call("terminal", command="cat answer.txt"),), delay_seconds=delay
        ),
        ScriptedReply(text=f"done {task_id}", delay_seconds=delay),
    ]
    return plan[min(step, len(plan) - 1)]


class TaskPlayer:
    """A thread-safe ScriptFn playing each task's script; counts requests per task."""

    def __init__(self, delay: float = 0.0, special: dict[str, Special] | None = None) -> None:
        self.delay = delay
        self.special = special or {}
        self.requests: Counter[str] = Counter()
        self.models: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, request: ChatRequest) -> ScriptedReply:
        messages = request.messages
        first = next(m for m in messages if m.get("role") == "user")
        match = TASK_ID.search(str(first.get("content")))
        assert match is not None, first
        task_id = match.group(1)
        step = sum(1 for m in messages if m.get("role") == "assistant" and m.get("tool_calls"))
        with self._lock:
            self.requests[task_id] += 1
            self.models[task_id] = str(request.body.get("model"))
        if task_id in self.special:
            return self.special[task_id](step)
        return standard_step(task_id, step, self.delay)

    def count(self, task_id: str) -> int:
        with self._lock:
            return self.requests[task_id]

    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())


def task(task_id: str, **fields: Any) -> dict[str, Any]:
    """A task line whose prompt carries the id the scripted model reads."""
    return {"id": task_id, "prompt": f"[task {task_id}] write your id to answer.txt", **fields}


def write_tasks(path: Path, items: Iterable[dict[str, Any] | str]) -> Path:
    """A JSONL task file; strings are written as they are (to make bad lines)."""
    lines = [i if isinstance(i, str) else json.dumps(i) for i in items]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def by_id(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in rows}


def assert_valid_trajectory(traj: dict[str, Any]) -> None:
    """The trajectory is a chat request a real API would accept (tool calls answered, in
    order), starting with the system prompt and the task's prompt."""
    messages = traj["messages"]
    assert messages[0]["role"] == "system" and messages[0]["content"]
    assert messages[1]["role"] == "user"
    assert messages[1]["content"].startswith(f"[task {traj['id']}]")
    assert traj["tools"], "the tool schemas are included"
    body = {"model": "m", "messages": messages, "tools": traj["tools"]}
    error = validate_chat_body(body)
    assert error is None, (traj["id"], error)


CHECK_ANSWER = 'test "$(cat answer.txt)" = "$HERMES_BATCH_TASK_ID"'


def hermes_batch(
    *args: str, cwd: Path, home: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``hermes batch ARGS`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "hermes", "batch", *args],
        cwd=cwd,
        env=batch_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start_batch(*args: str, cwd: Path, home: Path) -> subprocess.Popen[str]:
    """Start ``hermes batch ARGS`` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "hermes", "batch", *args],
        cwd=cwd,
        env=batch_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def batch_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
    env["HERMES_HOME"] = str(home)
    return env
