"""todo_write / todo_read handlers against a session stand-in (the engine's real one is
exercised in tests/engine/test_todos.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from hermes.execution.spec import ToolContext, ToolError
from hermes.protocol import TodoItem
from tools.todo import MAX_ITEMS, TODO_READ, TODO_WRITE, parse_items, todo_text


class Session:
    """Keeps the list like the engine's ToolSession (minus storing and events)."""

    def __init__(self) -> None:
        self.items: tuple[TodoItem, ...] = ()

    def read_todos(self) -> tuple[TodoItem, ...]:
        return self.items

    def write_todos(self, items: Sequence[TodoItem]) -> None:
        self.items = tuple(items)


def ctx(tmp_path: Path, session: Session | None) -> ToolContext:
    return ToolContext(workspace=tmp_path, session=session)


def test_write_then_read(tmp_path: Path) -> None:
    session = Session()
    items: list[dict[str, Any]] = [
        {"content": "  read   the code ", "status": "completed"},
        {"content": "fix it", "status": "in_progress"},
        {"content": "test it", "status": "pending"},
    ]
    result = TODO_WRITE.handler(ctx(tmp_path, session), {"items": items})
    assert result.ok
    assert session.items == (
        TodoItem("read the code", "completed"),
        TodoItem("fix it", "in_progress"),
        TodoItem("test it", "pending"),
    )
    read = TODO_READ.handler(ctx(tmp_path, session), {})
    assert read.content == "[x] read the code\n[>] fix it\n[ ] test it"
    assert TODO_WRITE.tool_class == TODO_READ.tool_class == "read"


def test_an_empty_or_finished_list_needs_no_item_in_progress() -> None:
    assert parse_items([]) == []
    assert parse_items([{"content": "a", "status": "completed"}]) == [TodoItem("a", "completed")]
    assert todo_text([]) == "The to-do list is empty."


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not a list", "'items' must be an array of {content, status} objects"),
        ([{"content": ""}], "item 1 needs a non-empty 'content'"),
        (
            [{"content": "a", "status": "done"}],
            "item 1: 'status' must be one of pending, in_progress, completed, not 'done'",
        ),
        (
            [{"content": "a" * 501, "status": "in_progress"}],
            "item 1 is too long (501 characters; at most 500)",
        ),
        (
            [{"content": "a", "status": "in_progress"}] * 2,
            "2 items are in_progress; exactly one may be in progress at a time",
        ),
        (
            [{"content": "a", "status": "pending"}],
            "no item is in_progress: mark the one you are working on now as in_progress (exactly one while any item is unfinished)",
        ),
        (
            [{"content": "a", "status": "completed"}] * (MAX_ITEMS + 1),
            f"at most {MAX_ITEMS} items; merge or drop some",
        ),
        (["a"], "item 1 must be an object with 'content' and 'status'"),
    ],
)
def test_bad_lists_say_what_to_fix(raw: Any, message: str) -> None:
    with pytest.raises(ToolError) as caught:
        parse_items(raw)
    assert str(caught.value) == message


def test_without_a_session_it_says_so(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="this session has no to-do list"):
        TODO_READ.handler(ctx(tmp_path, None), {})
