"""The to-do list, mode changes and subagents' events folded into the transcript."""

from __future__ import annotations

from hermes import protocol as p
from hermes.frontends.common.transcript import NoticeEntry, ToolEntry, Transcript
from hermes.frontends.common.work import todo_counts, todo_lines

ITEMS = (p.TodoItem("read", "completed"), p.TodoItem("fix", "in_progress"), p.TodoItem("test"))


def wrapped(event: p.Event) -> p.SubagentEvent:
    return p.SubagentEvent("t1", "find the bug", "child1", event)


def started_task(t: Transcript) -> ToolEntry:
    t.apply(
        p.AssistantMessage("", (p.ToolCallView("t1", "task", '{"description": "find the bug"}'),))
    )
    t.apply(p.ToolCallBegin("t1", "task", "{}", "read"))
    return t.tools["t1"]


def test_the_list_and_the_mode() -> None:
    t = Transcript(clock=lambda: 0.0)
    change = t.apply(p.TodoUpdated(ITEMS))
    assert change.todos and t.todos == ITEMS
    assert todo_counts(ITEMS) == "1/3 done"
    assert todo_lines(ITEMS) == [
        ("✓", "read", "completed"),
        ("▸", "fix", "in_progress"),
        ("○", "test", "pending"),
    ]
    change = t.apply(p.ApprovalModeChanged("plan", "ask"))
    assert change.status and t.status.approval_mode == "plan" and not change.added
    change = t.apply(p.ApprovalModeChanged("ask", "plan", "plan accepted"))
    assert [e.text for e in change.added if isinstance(e, NoticeEntry)] == [
        "plan accepted: approval mode ask"
    ]


def test_a_childs_calls_are_progress_lines_of_its_task_and_its_tokens_its_usage() -> None:
    t = Transcript(clock=lambda: 0.0)
    task = started_task(t)
    calls = (
        p.ToolCallView("t1/r1", "read_file", '{"path": "a.py"}'),
        p.ToolCallView("t1/r2", "read_file", '{"path": "gone.py"}'),
    )
    t.apply(wrapped(p.AssistantMessage("", calls)))
    t.apply(wrapped(p.ToolCallBegin("t1/r1", "read_file", '{"path": "a.py"}', "read")))
    t.apply(wrapped(p.ToolCallEnd("t1/r1", "read_file", "done", "1 line")))
    t.apply(wrapped(p.ToolCallEnd("t1/r2", "read_file", "failed", "File not found")))
    t.apply(wrapped(p.TokenUsage(100, 10, 1500, 40, 1540, 128000)))
    assert task.live == "✓ read_file  a.py\n✗ read_file  gone.py  (failed)\n"
    assert task.agent_usage == "↑1.5k ↓40"
    assert list(t.tools) == ["t1"]  # no entries of their own: they belong to the task
    t.apply(p.ToolCallEnd("t1", "task", "done", "the bug is in a.py"))
    assert task.agent_usage == "↑1.5k ↓40" and task.output == "the bug is in a.py"


def test_a_childs_approval_gets_its_own_tagged_entry() -> None:
    t = Transcript(clock=lambda: 0.0)
    started_task(t)
    ask = p.ApprovalRequested("t1/c1", "terminal", '{"command": "make"}', "approval mode ask")
    change = t.apply(wrapped(ask))
    assert change.approvals and t.approvals == ["t1/c1"]
    entry = t.tools["t1/c1"]
    assert (entry.agent, entry.state, entry.approval) == ("find the bug", "approval", ask)
    t.apply(wrapped(p.ApprovalResolved("t1/c1", "once")))
    t.apply(wrapped(p.ToolCallBegin("t1/c1", "terminal", '{"command": "make"}', "exec")))
    t.apply(wrapped(p.ToolCallEnd("t1/c1", "terminal", "done", "ok", exit_code=0)))
    assert (entry.state, entry.exit_code, t.approvals) == ("done", 0, [])
    assert t.tools["t1"].live == ""  # shown in its own entry, not twice


def test_a_finished_task_keeps_its_subagents_calls_for_the_transcript_view() -> None:
    from hermes.frontends.common.search import entry_text

    t = Transcript(clock=lambda: 0.0)
    task = started_task(t)
    t.apply(
        wrapped(p.AssistantMessage("", (p.ToolCallView("t1/r1", "read_file", '{"path": "a.py"}'),)))
    )
    t.apply(wrapped(p.ToolCallEnd("t1/r1", "read_file", "done", "1 line")))
    t.apply(wrapped(p.TokenUsage(100, 10, 100, 10, 110, 128000)))
    t.apply(p.ToolCallEnd("t1", "task", "done", "the bug is in a.py"))
    assert task.live == "" and task.agent_calls == ["✓ read_file  a.py"]
    text = entry_text(task)
    assert "  ── subagent's calls (↑100 ↓10 tokens) ──\n  ✓ read_file  a.py\n  ── output ──" in text
    assert text.endswith("the bug is in a.py")
