"""The to-do list, plan mode and subagents in the transcript (no textual here).

- ``TodoUpdated``: the list front ends pin above the input (``Transcript.todos``);
- ``ApprovalModeChanged``: the status line's mode (and a notice when the engine changed
  it itself: a plan was accepted);
- ``SubagentEvent``: a child's calls become progress lines of the parent's ``task``
  call (its live output while it runs, and ``agent_calls`` for good: "✓ read_file
  a.txt"), its tokens the call's ``agent_usage``; a call of
  the child that asks for approval gets an entry of its own, tagged with the task's
  description, answered like any other (its id is the prefixed one the engine routes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hermes import protocol as p
from hermes.frontends.common.format import STATE_ICONS, count_tokens_label, key_argument

if TYPE_CHECKING:  # the transcript calls in here: no import back at run time
    from hermes.frontends.common.transcript import Change, ToolEntry, Transcript

PROGRESS_MAX_CHARS = 16_000
"""How much of a task's progress lines is kept (the tail)."""
MAX_CALL_LINES = 500
"""Lines of a subagent's calls kept per task call."""
TODO_MARKS = {"completed": "✓", "in_progress": "▸", "pending": "○"}


def todo_counts(items: Sequence[p.TodoItem]) -> str:
    """``2/5 done``."""
    done = sum(1 for i in items if i.status == "completed")
    return f"{done}/{len(items)} done"


def todo_lines(items: Sequence[p.TodoItem]) -> list[tuple[str, str, str]]:
    """``(mark, content, status)`` per item, in order."""
    return [(TODO_MARKS[i.status], i.content, i.status) for i in items]


def current_todo(items: Sequence[p.TodoItem]) -> p.TodoItem | None:
    """The item in progress, if any."""
    return next((i for i in items if i.status == "in_progress"), None)


def usage_label(ev: p.TokenUsage) -> str:
    """A subagent's tokens so far: ``↑1.2k ↓40``."""
    return (
        f"↑{count_tokens_label(ev.session_prompt_tokens)} "
        f"↓{count_tokens_label(ev.session_completion_tokens)}"
    )


def apply_work(t: Transcript, ev: p.Event, change: Change) -> None:
    """Fold a to-do, mode or subagent event into ``t``."""
    if isinstance(ev, p.TodoUpdated):
        t.todos = ev.items
        change.todos = True
    elif isinstance(ev, p.ApprovalModeChanged):
        t.status.approval_mode = ev.mode
        change.status = True
        if ev.reason:
            _merge(change, t.notice(f"{ev.reason}: approval mode {ev.mode}"))
    elif isinstance(ev, p.SubagentEvent):
        _subagent(t, ev, change)


_OWN_ENTRY = (p.ToolCallBegin, p.ToolOutputDelta, p.ToolCallEnd, p.ApprovalResolved)


def _subagent(t: Transcript, ev: p.SubagentEvent, change: Change) -> None:
    inner = ev.event
    if isinstance(inner, p.ApprovalRequested):
        _merge(change, t.apply(inner))
        tool = t.tools.get(inner.call_id)
        if tool is not None:
            tool.agent = ev.agent
        return
    if isinstance(inner, _OWN_ENTRY) and inner.call_id in t.tools:
        _merge(change, t.apply(inner))  # the call that asked has its own entry
        return
    task = t.tools.get(ev.call_id)
    if task is None:
        return
    if isinstance(inner, p.ToolCallEnd):
        icon = STATE_ICONS.get(inner.status, "·")
        arguments = _arguments(t, inner.call_id)
        line = f"{icon} {inner.name}  {key_argument(inner.name, arguments, 80)}".rstrip()
        if inner.status != "done":
            line += f"  ({inner.status})"
        _progress(task, line, change)
    elif isinstance(inner, p.AssistantMessage):
        for call in inner.tool_calls:
            t.child_calls[call.call_id] = call.arguments
    elif isinstance(inner, p.TokenUsage):
        task.agent_usage = usage_label(inner)
        change.updated.append(task)
    elif isinstance(inner, p.TurnAborted):
        _progress(task, f"■ stopped: {inner.reason}", change)


def _arguments(t: Transcript, call_id: str) -> str:
    return t.child_calls.pop(call_id, "")


def _progress(task: ToolEntry, line: str, change: Change) -> None:
    """A line of what the subagent did: live while it runs, kept for the expanded block
    and the transcript view."""
    live = task.live + line + "\n"
    task.live = live[-PROGRESS_MAX_CHARS:]
    if len(task.agent_calls) < MAX_CALL_LINES:
        task.agent_calls.append(line)
    change.updated.append(task)


def _merge(into: Change, other: Change) -> None:
    into.added.extend(other.added)
    into.updated.extend(other.updated)
    into.status = into.status or other.status
    into.approvals = into.approvals or other.approvals
    into.todos = into.todos or other.todos
