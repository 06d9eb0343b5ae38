from __future__ import annotations

from hermes.history import INTERRUPTED_RESULT, insert_results, rebuild_view
from hermes.messages import Message, ToolCall
from hermes.store import StoredMessage


def stored(*messages: Message) -> list[StoredMessage]:
    return [StoredMessage(i, i, m, 0.0) for i, m in enumerate(messages)]


A, B, C = ToolCall("a", "read_file", "{}"), ToolCall("b", "read_file", "{}"), ToolCall("c", "x", "{}")


def test_results_are_put_in_call_order() -> None:
    view = rebuild_view(
        stored(
            Message("user", "go"),
            Message("assistant", None, (A, B)),
            Message("tool", "rb", tool_call_id="b"),
            Message("tool", "ra", tool_call_id="a"),
        )
    )
    assert [m.tool_call_id for m in view.messages[2:]] == ["a", "b"]
    assert view.unanswered == ()


def test_missing_results_are_reported_and_inserted_in_order() -> None:
    view = rebuild_view(
        stored(
            Message("user", "go"),
            Message("assistant", None, (A, B, C)),
            Message("tool", "rb", tool_call_id="b"),
            Message("user", "again"),
        )
    )
    assert [u.call.id for u in view.unanswered] == ["a", "c"]
    filled = insert_results(
        view.messages,
        [(u, Message("tool", INTERRUPTED_RESULT, tool_call_id=u.call.id)) for u in view.unanswered],
    )
    assert [(m.role, m.tool_call_id) for m in filled] == [
        ("user", None),
        ("assistant", None),
        ("tool", "a"),
        ("tool", "b"),
        ("tool", "c"),
        ("user", None),
    ]


def test_orphan_results_are_dropped() -> None:
    view = rebuild_view(stored(Message("user", "x"), Message("tool", "orphan", tool_call_id="zz")))
    assert view.messages == (Message("user", "x"),)


def test_duplicate_result_for_one_call_keeps_the_first() -> None:
    view = rebuild_view(
        stored(
            Message("assistant", None, (A,)),
            Message("tool", "first", tool_call_id="a"),
            Message("tool", "second", tool_call_id="a"),
        )
    )
    assert [m.content for m in view.messages] == [None, "first"]
