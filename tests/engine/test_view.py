from __future__ import annotations

from hermes.engine.view import (
    INTERRUPTED_RESULT,
    NOT_RERUN_SECRET,
    insert_results,
    order_results,
    plan_resume,
    rebuild_view,
)
from hermes.messages import Message, ToolCall
from hermes.store.sessions import CallState, StoredMessage


def stored(*messages: Message) -> list[StoredMessage]:
    return [StoredMessage(i, i, m, 0.0) for i, m in enumerate(messages)]


A, B, C = (
    ToolCall("a", "read_file", "{}"),
    ToolCall("b", "read_file", "{}"),
    ToolCall("c", "x", "{}"),
)


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


def test_a_result_committed_late_still_pairs_with_its_call() -> None:
    view = rebuild_view(
        stored(
            Message("user", "go"),
            Message("assistant", None, (A, B)),
            Message("tool", "ra", tool_call_id="a"),
            Message("assistant", "partial", ()),
            Message("tool", "rb late", tool_call_id="b"),
        )
    )
    assert [(m.role, m.tool_call_id, m.content) for m in view.messages] == [
        ("user", None, "go"),
        ("assistant", None, None),
        ("tool", "a", "ra"),
        ("tool", "b", "rb late"),
        ("assistant", None, "partial"),
    ]
    assert view.unanswered == ()


def test_ids_reused_by_a_later_reply_pair_with_that_reply() -> None:
    view = rebuild_view(
        stored(
            Message("assistant", None, (A,)),
            Message("tool", "first", tool_call_id="a"),
            Message("assistant", None, (A,)),
            Message("tool", "second", tool_call_id="a"),
        )
    )
    assert [m.content for m in view.messages] == [None, "first", None, "second"]


def state(call: ToolCall, status: str) -> CallState:
    return CallState(call.id, call.name, call.arguments, status)


def test_plan_resume_offers_again_only_what_never_started_in_the_last_reply() -> None:
    old = ToolCall("o", "terminal", "{}")
    secret = ToolCall("s", "terminal", '{"command": "curl -u [REDACTED:api-key]"}')
    view = rebuild_view(
        stored(
            Message("assistant", None, (old,)),
            Message("user", "moved on"),
            Message("assistant", None, (A, B, C, secret)),
            Message("tool", "rb", tool_call_id="b"),
        )
    )
    states = {
        "o": state(old, "requested"),  # not in the last reply: too late to run
        "a": state(A, "running"),  # may have had effects
        "b": state(B, "done"),
        "c": state(C, "pending_approval"),
        "s": state(secret, "requested"),  # its arguments were redacted on disk
    }
    plan = plan_resume(view, states)
    assert [u.call.id for u in plan.reoffer] == ["c"]
    assert [(u.call.id, text) for u, text in plan.synthesize] == [
        ("o", INTERRUPTED_RESULT),
        ("a", INTERRUPTED_RESULT),
        ("s", NOT_RERUN_SECRET),
    ]


def test_order_results_sorts_each_run_into_call_order() -> None:
    msgs = [
        Message("assistant", None, (A, B, C)),
        Message("tool", "rc", tool_call_id="c"),
        Message("tool", "ra", tool_call_id="a"),
        Message("tool", "rb", tool_call_id="b"),
        Message("user", "next"),
    ]
    assert [m.tool_call_id for m in order_results(msgs)] == [None, "a", "b", "c", None]


def test_replay_keeps_each_call_as_it_ended() -> None:
    """Interrupted stays interrupted; diffs, exit codes, durations and reasoning come back
    (issue 17: resumed history looks as it did live)."""
    from hermes import protocol as p
    from hermes.engine.view import replay_events

    run = ToolCall("t", "terminal", '{"command": "sleep 9"}')
    edit = ToolCall("e", "patch", "{}")
    items = [
        StoredMessage(0, 0, Message("user", "go"), 0.0),
        StoredMessage(1, 1, Message("assistant", "ok", (run, edit)), 0.0, reasoning="hmm"),
        StoredMessage(2, 2, Message("tool", "started\n[interrupted]", tool_call_id="t"), 0.0),
        StoredMessage(3, 3, Message("tool", "Patched a.py", tool_call_id="e"), 0.0),
    ]
    states = {
        "t": CallState("t", "terminal", "{}", "interrupted", exit_code=130, duration=2.5),
        "e": CallState("e", "patch", "{}", "done", diff="-a\n+b\n", duration=0.1),
    }
    events = replay_events(items, states)
    assert events[1] == p.AssistantMessage(
        "ok",
        (p.ToolCallView("t", "terminal", run.arguments), p.ToolCallView("e", "patch", "{}")),
        reasoning="hmm",
        replay=True,
    )
    assert events[2:] == [
        p.ToolCallEnd(
            "t",
            "terminal",
            "interrupted",
            "started\n[interrupted]",
            exit_code=130,
            replay=True,
            duration=2.5,
        ),
        p.ToolCallEnd(
            "e", "patch", "done", "Patched a.py", diff="-a\n+b\n", replay=True, duration=0.1
        ),
    ]
