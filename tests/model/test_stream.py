from __future__ import annotations

from hermes.messages import ToolCall
from hermes.model.stream import (
    CallDelta,
    SurrogateJoiner,
    ToolCallAssembler,
    fix_surrogates,
    split_calls,
)


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


def test_surrogate_halves_split_across_pieces_are_joined() -> None:
    joiner = SurrogateJoiner()
    shown = [joiner.feed("Hi \ud83d"), joiner.feed("\ude00 x\ud83c"), joiner.feed("\udf89")]
    assert shown == ["Hi ", "😀 x", "🎉"]
    assert joiner.flush() == ""


def test_lone_surrogates_become_replacement_characters() -> None:
    joiner = SurrogateJoiner()
    assert [joiner.feed("a\ud83d"), joiner.feed("b\ude00"), joiner.feed("\ud83d")] == [
        "a",
        "\ufffdb\ufffd",
        "",
    ]
    assert joiner.flush() == "\ufffd"
    assert fix_surrogates("plain") == "plain"
    assert fix_surrogates("\ud83d\ude00\udc00") == "😀\ufffd"


def test_arguments_split_inside_a_surrogate_pair_are_joined() -> None:
    calls = assemble(
        CallDelta(0, "c1", "write_file", '{"t": "\ud83d'), CallDelta(0, None, None, '\ude00"}')
    )
    assert calls == (ToolCall("c1", "write_file", '{"t": "😀"}'),)


def test_split_calls_by_name() -> None:
    good = ToolCall("a", "read_file", "{}")
    bad = (ToolCall("b", "", "{}"), ToolCall("c", "read file", "{}"), ToolCall("d", "é", "{}"))
    assert split_calls((bad[0], good, *bad[1:])) == ((good,), bad)
