from __future__ import annotations

import dataclasses
import typing

import pytest

from hermes import protocol as p

SAMPLES: list[p.Op | p.Event] = [
    p.UserTurn("hello"),
    p.Interrupt(),
    p.ApprovalReply("call_1", "always"),
    p.Compact(),
    p.SetModel("gpt-x"),
    p.SetApprovalMode("yolo"),
    p.Shutdown(),
    p.SessionStarted("s1", "m", "/w", "ask", resumed=True, title="t"),
    p.TurnStarted(1, "hi"),
    p.AssistantDelta("he"),
    p.AssistantMessage("hello", (p.ToolCallView("c1", "read_file", '{"path": "a"}'),)),
    p.ToolCallBegin("c1", "read_file", "{}", "read", "read-only"),
    p.ToolOutputDelta("c1", "out"),
    p.ToolCallEnd("c1", "read_file", "done", "text", diff="", exit_code=0),
    p.ApprovalRequested("c2", "terminal", "{}", "asks", ("terminal:rm",), True, "rm -rf /"),
    p.ApprovalResolved("c2", "deny", by="policy", reason="no human"),
    p.TokenUsage(1, 2, 3, 4, 5, 6),
    p.TokenUsage(1, 2, 3, 4, 5, 6, estimated=True),  # counted locally: shown with "≈"
    p.CompactionDone(100, 10, 3, "sum"),
    p.FactsExtracted(1, ("prefers tabs",)),
    p.ExecutorStats(3, 0, 1.5, 2.5, {"read": 0, "lane": 1}),
    p.Warning("careful", kind="retry"),
    p.Error("bad", fatal=True),
    p.TurnComplete("done", 2),
    p.TurnAborted("interrupted by user"),
    p.Undo(turns=2),
    p.Redo(),
    p.Rewind(3, files=True, conversation=False),
    p.ConflictReply("src/a.py", "keep_mine"),
    p.ConflictFound(
        "src/a.py", 3, "undo", "changed since the agent left it", "-a\n+b\n", "-b\n+a\n"
    ),
    p.UndoDone(
        (3, 2), ("a.py", "b.py"), ("c.py",), "files restored", details=("c.py: kept your version",)
    ),
    p.RewindDone(2, True, True, ("a.py",), (), "fix the bug", "note"),
    p.SetApprovalMode("plan"),
    p.UserTurn("review #1", model="review-model"),
    p.HookStarted("hook-1", "PreToolUse", "./guard.sh", "c1"),
    p.HookFinished("hook-1", "PreToolUse", "./guard.sh", 2, 12.5, "blocked", "deny", "no", "c1"),
    p.HookFinished("hook-2", "Stop", "./slow.sh", None, 5000.0, "timeout"),
    p.HookContext("UserPromptSubmit", "on call: alice", replay=True),
    p.ApprovalResolved("c3", "deny", by="hook", reason="denied by a PreToolUse hook: no"),
    p.TodoUpdated((p.TodoItem("read", "completed"), p.TodoItem("fix", "in_progress"))),
    p.ApprovalModeChanged("auto-edit", "plan", "plan accepted"),
    p.SubagentEvent(
        "t1",
        "find it",
        "s2",
        p.AssistantMessage("x", (p.ToolCallView("t1/c1", "read_file", "{}"),)),
    ),
    p.SubagentEvent("t1", "find it", "s2", p.ApprovalRequested("t1/c2", "terminal", "{}", "asks")),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip_through_json(message: p.Op | p.Event) -> None:
    assert p.from_json(p.to_json(message)) == message


def test_json_names_the_type() -> None:
    assert p.to_dict(p.UserTurn("x")) == {"type": "UserTurn", "text": "x", "model": ""}


def test_unknown_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown message type"):
        p.from_json('{"type": "Nope"}')
    with pytest.raises(ValueError, match="JSON object"):
        p.from_json("[1]")


def test_call_end_ok_follows_status() -> None:
    assert p.ToolCallEnd("c", "n", "done", "").ok
    assert not p.ToolCallEnd("c", "n", "denied", "").ok


def test_every_message_class_is_in_one_union_and_round_trips_by_name() -> None:
    ops, events = set(typing.get_args(p.Op)), set(typing.get_args(p.Event))
    classes = {
        obj
        for obj in vars(p).values()
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == p.__name__
    }
    assert not ops & events
    assert classes - ops - events == {p.ToolCallView, p.TodoItem}  # field types, not messages
    for cls in ops | events:  # every one is known by name (ValueError would say it is not)
        try:
            assert type(p.from_dict({"type": cls.__name__})) is cls
        except TypeError:
            pass  # known, but its required fields are missing


def test_token_usage_says_when_it_is_an_estimate() -> None:
    usage = p.TokenUsage(10, 2, 10, 2, 12, 8192, estimated=True)
    assert p.to_dict(usage)["estimated"] is True
    assert p.from_json(p.to_json(usage)) == usage
    older = {k: v for k, v in p.to_dict(usage).items() if k != "estimated"}  # a stored line
    assert p.from_dict(older) == p.TokenUsage(10, 2, 10, 2, 12, 8192)
