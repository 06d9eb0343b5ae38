from __future__ import annotations

from hermes.messages import ToolCall
from hermes.model_stream import CallDelta, ToolCallAssembler


def assemble(*deltas: CallDelta) -> tuple[ToolCall, ...]:
    a = ToolCallAssembler()
    for d in deltas:
        a.add(d)
    return a.calls()


def test_standard_shape_with_index() -> None:
    calls = assemble(
        CallDelta(0, "c1", "read_file", ""),
        CallDelta(0, None, None, '{"path":'),
        CallDelta(0, None, None, ' "a"}'),
        CallDelta(1, "c2", "terminal", '{"command": "ls"}'),
    )
    assert calls == (
        ToolCall("c1", "read_file", '{"path": "a"}'),
        ToolCall("c2", "terminal", '{"command": "ls"}'),
    )


def test_missing_index_uses_ids() -> None:
    calls = assemble(
        CallDelta(None, "c1", "read_file", '{"pa'),
        CallDelta(None, None, None, 'th": "a"}'),
        CallDelta(None, "c2", "read_file", '{"path": "b"}'),
    )
    assert calls == (
        ToolCall("c1", "read_file", '{"path": "a"}'),
        ToolCall("c2", "read_file", '{"path": "b"}'),
    )


def test_repeated_id_and_name_are_not_concatenated() -> None:
    calls = assemble(
        CallDelta(0, "c1", "patch", '{"a":'),
        CallDelta(0, "c1", "patch", " 1}"),
    )
    assert calls == (ToolCall("c1", "patch", '{"a": 1}'),)


def test_repeated_id_and_name_without_index() -> None:
    calls = assemble(
        CallDelta(None, "c1", "patch", '{"a":'),
        CallDelta(None, "c1", "patch", " 1}"),
        CallDelta(None, "c2", "patch", "{}"),
    )
    assert calls == (ToolCall("c1", "patch", '{"a": 1}'), ToolCall("c2", "patch", "{}"))


def test_empty_and_duplicate_ids_get_unique_ones() -> None:
    calls = assemble(
        CallDelta(0, "", "a", "{}"),
        CallDelta(1, "dup", "b", "{}"),
        CallDelta(2, "dup", "c", "{}"),
    )
    ids = [c.id for c in calls]
    assert [c.name for c in calls] == ["a", "b", "c"]
    assert ids[1] == "dup"
    assert len(set(ids)) == 3 and all(ids)


def test_no_deltas_no_calls() -> None:
    a = ToolCallAssembler()
    assert not a
    assert a.calls() == ()
