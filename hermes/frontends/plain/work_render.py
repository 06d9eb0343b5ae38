"""The plain REPL's lines for the to-do list, plan mode and subagents.

The to-do list is printed whole whenever it changes; a plan waiting for acceptance is a
panel with the plan as Markdown; a subagent's calls are one tagged line each as they
end, and an approval it asks for is the usual approval panel, tagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from hermes import protocol as p
from hermes.frontends.common.format import STATE_ICONS, key_argument, render_markdown
from hermes.frontends.common.work import todo_counts, todo_lines, usage_label

if TYPE_CHECKING:
    from hermes.frontends.plain.render import PlainRenderer

ITEM_STYLES = {"completed": "dim strike", "in_progress": "bold", "pending": ""}
MARK_STYLES = {"completed": "green", "in_progress": "bold cyan", "pending": "dim"}


def todo_block(items: Sequence[p.TodoItem]) -> RenderableType:
    """The list as printed: a header and one line per item."""
    text = Text("☰ To-do ", style="bold")
    text.append(todo_counts(items), style="dim")
    for mark, content, status in todo_lines(items):
        text.append("\n  ")
        text.append(mark, style=MARK_STYLES[status])
        text.append(" ")
        text.append(content, style=ITEM_STYLES[status])
    return text


def plan_panel(ev: p.ApprovalRequested) -> Panel:
    """A plan waiting for acceptance."""
    keys = Text("[y] accept and leave plan mode  [n] keep planning (or type feedback)  ")
    keys.append("[Esc] stop   (Enter does nothing)", style="dim")
    return Panel(
        Group(render_markdown(ev.preview), keys),
        title="the plan is ready: accept it?",
        title_align="left",
        border_style="magenta",
    )


def render_work(
    r: PlainRenderer, ev: p.TodoUpdated | p.ApprovalModeChanged | p.SubagentEvent
) -> None:
    """Print a to-do, mode or subagent event."""
    c = r.console
    if isinstance(ev, p.TodoUpdated):
        if ev.items != r.todos_shown:
            r.todos_shown = ev.items
            if ev.items:
                c.print(todo_block(ev.items))
    elif isinstance(ev, p.ApprovalModeChanged):
        if ev.reason:
            c.print(Text(f"· {ev.reason}: approval mode {ev.mode}", "cyan"))
    else:
        _subagent(r, ev)


def _subagent(r: PlainRenderer, ev: p.SubagentEvent) -> None:
    c = r.console
    inner = ev.event
    tag = Text(f"    [{ev.agent}] ", "magenta")
    if isinstance(inner, p.ApprovalRequested):
        c.print(tag + Text("asks:", "bold"))
        c.print(r.approval_panel(inner))
    elif isinstance(inner, p.ApprovalResolved):
        said = {"once": "approved once", "always": "approved for this session"}
        what = said.get(inner.decision, "denied") if inner.by == "user" else inner.reason
        c.print(tag + Text(what, "dim italic" if inner.by == "user" else "red"))
    elif isinstance(inner, p.AssistantMessage):
        for call in inner.tool_calls:
            r.child_calls[call.call_id] = call.arguments
    elif isinstance(inner, p.ToolCallEnd):
        arguments = r.child_calls.pop(inner.call_id, "")
        line = tag + Text(f"{STATE_ICONS.get(inner.status, '·')} ", "green" if inner.ok else "red")
        line.append(inner.name, "bold")
        arg = key_argument(inner.name, arguments, 80)
        if arg:
            line.append("  " + arg)
        if not inner.ok:
            line.append(f"  {inner.status}", "red")
        c.print(line)
    elif isinstance(inner, p.TokenUsage):
        r.child_usage[ev.call_id] = usage_label(inner)
    elif isinstance(inner, p.TurnComplete):
        usage = r.child_usage.pop(ev.call_id, "")
        c.print(tag + Text("finished" + (f" · {usage} tokens" if usage else ""), "dim"))
    elif isinstance(inner, p.TurnAborted):
        c.print(tag + Text(f"■ stopped: {inner.reason}", "yellow"))
