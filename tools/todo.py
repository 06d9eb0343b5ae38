"""The to-do list tools: ``todo_write`` (replace the session's list) and ``todo_read``.

Both are read-class: they touch no file and need no approval. The list belongs to the
session (stored with it, shown by the front ends); the tools reach it only through
``ToolContext.session``, which the engine provides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hermes.execution.spec import SessionAccess, ToolContext, ToolError, ToolResult, ToolSpec
from hermes.protocol import TODO_STATUSES, TodoItem

MAX_ITEMS = 100
MAX_CONTENT_CHARS = 500
MARKS = {"completed": "[x]", "in_progress": "[>]", "pending": "[ ]"}


def todo_text(items: Sequence[TodoItem]) -> str:
    """The list as the model reads it back: one ``[x]``/``[>]``/``[ ]`` line per item."""
    if not items:
        return "The to-do list is empty."
    return "\n".join(f"{MARKS[i.status]} {i.content}" for i in items)


def parse_items(raw: Any) -> list[TodoItem]:
    """Check the ``items`` argument; raises ToolError saying what to fix."""
    if not isinstance(raw, list):
        raise ToolError("'items' must be an array of {content, status} objects")
    if len(raw) > MAX_ITEMS:
        raise ToolError(f"at most {MAX_ITEMS} items; merge or drop some")
    items: list[TodoItem] = []
    for n, entry in enumerate(raw, 1):
        if not isinstance(entry, dict):
            raise ToolError(f"item {n} must be an object with 'content' and 'status'")
        content = entry.get("content")
        status = entry.get("status", "pending")
        if not isinstance(content, str) or not content.strip():
            raise ToolError(f"item {n} needs a non-empty 'content'")
        if status not in TODO_STATUSES:
            raise ToolError(
                f"item {n}: 'status' must be one of {', '.join(TODO_STATUSES)}, not {status!r}"
            )
        text = " ".join(content.split())
        if len(text) > MAX_CONTENT_CHARS:
            raise ToolError(
                f"item {n} is too long ({len(text)} characters; at most {MAX_CONTENT_CHARS})"
            )
        items.append(TodoItem(text, status))
    working = [i for i in items if i.status == "in_progress"]
    open_items = [i for i in items if i.status != "completed"]
    if len(working) > 1:
        raise ToolError(
            f"{len(working)} items are in_progress; exactly one may be in progress at a time"
        )
    if open_items and not working:
        raise ToolError(
            "no item is in_progress: mark the one you are working on now as in_progress "
            "(exactly one while any item is unfinished)"
        )
    return items


def _session(ctx: ToolContext) -> SessionAccess:
    if ctx.session is None:
        raise ToolError("this session has no to-do list")
    return ctx.session


def _todo_write(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    items = parse_items(args.get("items"))
    _session(ctx).write_todos(items)
    done = sum(1 for i in items if i.status == "completed")
    summary = f"{len(items)} item(s): {done} completed, {len(items) - done} open"
    return ToolResult(
        ok=True, content=f"The to-do list is updated ({summary}).\n{todo_text(items)}"
    )


def _todo_read(ctx: ToolContext, args: Mapping[str, Any]) -> ToolResult:
    return ToolResult(ok=True, content=todo_text(_session(ctx).read_todos()))


TODO_WRITE = ToolSpec(
    name="todo_write",
    description=(
        "Replace the session's to-do list, which the user sees, for work of several steps: "
        "the whole list each time, one item in_progress, each completed once done."
    ),
    parameters={
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "description": "The whole list, in order.",
                "items": {
                    "type": "object",
                    "properties": {
                        "content": {"type": "string", "description": "The step, imperative."},
                        "status": {"type": "string", "enum": list(TODO_STATUSES)},
                    },
                    "required": ["content", "status"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["items"],
        "additionalProperties": False,
    },
    tool_class="read",
    handler=_todo_write,
)

TODO_READ = ToolSpec(
    name="todo_read",
    description="Read the session's to-do list.",
    parameters={"type": "object", "properties": {}, "required": [], "additionalProperties": False},
    tool_class="read",
    handler=_todo_read,
)
