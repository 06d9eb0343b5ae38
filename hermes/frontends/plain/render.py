"""Rendering engine events as lines for the plain REPL (``hermes --plain``), with rich.

Everything is printed once, in order, so the terminal's scrollback is the transcript.
Assistant text streams paragraph by paragraph: a paragraph is rendered as Markdown as
soon as it is complete (never inside an open code fence), the rest when the reply ends.
Command output streams live, a bounded number of lines per call.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from hermes import protocol as p
from hermes.frontends.common.attachments import split
from hermes.frontends.common.format import (
    STATE_ICONS,
    describe,
    diff_stats,
    diff_text,
    key_argument,
    looks_like_diff,
    output_summary,
    paragraph_cut,
    render_markdown,
    short_rule,
)
from hermes.frontends.common.output_view import summarize
from hermes.frontends.common.search import pretty_arguments
from hermes.frontends.common.transcript import ToolEntry, Transcript, hook_line

LIVE_LINES_MAX = 40
"""Live output lines printed per command; the rest is summed up at the end."""
PREVIEW_LINES = 6
DIFF_LINES = 40
STYLES = {"done": "green", "failed": "red", "denied": "red", "cancelled": "yellow"}


class PlainRenderer:
    """Prints events; keeps just enough state to stream text and count output lines."""

    def __init__(self, console: Console, transcript: Transcript) -> None:
        self.console = console
        self.transcript = transcript
        self._pending = ""  # streamed text not yet printed
        self._streamed = False  # this reply arrived as deltas
        self._live_lines: dict[str, int] = {}
        self._live_partial: dict[str, str] = {}
        self.todos_shown: tuple[p.TodoItem, ...] = ()  # the to-do list as last printed
        self.child_calls: dict[str, str] = {}  # subagents' calls: prefixed id -> arguments
        self.child_usage: dict[str, str] = {}  # subagents' tokens by task call id

    # ------------------------------------------------------------------ events

    def render(self, ev: p.Event) -> None:
        """Print what ``ev`` means (call after ``transcript.apply(ev)``)."""
        c = self.console
        match ev:
            case p.SessionStarted():
                what = "resumed" if ev.resumed else "new session"
                title = f" · {ev.title}" if ev.title else ""
                line = Text(f"hermes · {ev.model} · {what}{title} · ", "dim")
                if ev.sandbox:
                    confined = ev.sandbox.startswith("sandboxed")
                    line.append(ev.sandbox, "dim" if confined else "bold red")
                    line.append(" · ", "dim")
                line.append("/help for commands", "dim")
                c.print(line)
            case p.UserMessage():
                typed, chips = split(ev.text)  # attachments as their paths, not their text
                c.print(Text("› " + typed + ("" if ev.replay else "   (delivered)"), "bold"))
                for chip in chips:
                    c.print(Text(f"  @ {chip.label}", "dim"))
            case p.AssistantDelta():
                self._stream(ev.text)
            case p.AssistantMessage():
                self._finish_reply(ev)
            case p.ToolCallBegin():
                self._flush_all()
                c.print(self._tool_line(ev.call_id, ev.name, ev.arguments, "running", "cyan"))
            case p.ToolOutputDelta():
                self._live(ev.call_id, ev.text)
            case p.ToolCallEnd():
                self._end(ev)
            case p.ApprovalRequested():
                self._flush_all()
                c.print(self.approval_panel(ev))
            case p.ApprovalResolved() if ev.by == "user" and ev.decision in ("once", "always"):
                said = {"once": "approved once", "always": "approved for this session"}
                c.print(Text("  " + said[ev.decision], "dim italic"))
            # A denial is said once, by the call's own line ("denied") and its reason.
            case p.Warning() if ev.kind == "retry":
                self._pending = ""
                self._streamed = False
                c.print(Text(f"! {ev.message} (the partial reply is dropped)", "yellow"))
            case p.Warning():
                c.print(Text(f"! {ev.message}", "yellow"))
            case p.Error():
                self._flush_all()
                c.print(Text(f"✗ {ev.message}", "bold red"))
            case p.TurnAborted():
                self._flush_all()
                c.print(Text(f"■ turn stopped: {ev.reason}", "yellow"))
            case p.TurnComplete():
                self._flush_all()
            case p.CompactionDone():
                c.print(Text(f"· compacted: {ev.tokens_before:,} → {ev.tokens_after:,}", "dim"))
            case p.FactsExtracted() if ev.count:
                c.print(Text(f"· remembered {ev.count} fact(s)", "dim"))
            case p.HookFinished() if ev.outcome not in ("error", "timeout"):  # those: warnings
                c.print(Text(f"· {hook_line(ev)}", "yellow" if ev.decision else "dim"))
            case p.HookContext():
                self._flush_all()
                c.print(Text(f"· {ev.hook_event} hook added context: {ev.text}", "dim"))
            case p.UndoDone() | p.RewindDone():
                c.print(Text(describe(ev), "cyan"))
            case p.TodoUpdated() | p.ApprovalModeChanged() | p.SubagentEvent():
                from hermes.frontends.plain.work_render import render_work

                self._flush_all()
                render_work(self, ev)
            case p.ConflictFound():
                c.print(
                    Text(
                        f"! {ev.path} changed since the agent left it ({ev.reason}); "
                        "skipped, your version is kept (the TUI can restore it instead)",
                        "yellow",
                    )
                )

    # ------------------------------------------------------------------ text

    def _stream(self, text: str) -> None:
        self._streamed = True
        self._pending += text
        cut = paragraph_cut(self._pending)
        if cut:
            self.console.print(render_markdown(self._pending[:cut]))
            self._pending = self._pending[cut:]

    def _finish_reply(self, ev: p.AssistantMessage) -> None:
        if ev.replay:
            if ev.text:
                self.console.print(render_markdown(ev.text))
        elif self._pending.strip():
            self.console.print(render_markdown(self._pending))
        elif ev.text and not self._streamed:
            self.console.print(render_markdown(ev.text))
        self._pending = ""
        self._streamed = False
        if ev.interrupted:
            self.console.print(Text("■ interrupted", "yellow italic"))
        if ev.replay:
            for call in ev.tool_calls:
                self.console.print(self._tool_line(call.call_id, call.name, call.arguments, "", ""))

    def _flush_all(self) -> None:
        if self._pending.strip():
            self.console.print(render_markdown(self._pending))
        self._pending = ""

    # ------------------------------------------------------------------ tools

    def _tool_line(self, call_id: str, name: str, arguments: str, state: str, style: str) -> Text:
        line = Text("  ")
        icon = STATE_ICONS.get(state.split(" ", 1)[0] if state else "queued", "·")
        line.append(f"{icon} ", style=style)
        line.append(name, style="bold")
        arg = key_argument(name, arguments, 100)
        if arg:
            line.append("  " + arg)
        if state:
            line.append(f"  {state}", style=style or "dim")
        return line

    def _live(self, call_id: str, text: str) -> None:
        count = self._live_lines.get(call_id, 0)
        if count > LIVE_LINES_MAX:
            return
        data = self._live_partial.pop(call_id, "") + text
        lines = data.split("\n")
        self._live_partial[call_id] = lines.pop()
        for line in lines:
            count += 1
            if count > LIVE_LINES_MAX:
                self.console.print(Text("    … (more output; the result sums it up)", "dim"))
                break
            self.console.print(Text("    " + line, "dim"))
        self._live_lines[call_id] = count

    def _end(self, ev: p.ToolCallEnd) -> None:
        tool = self.transcript.tools.get(ev.call_id) or ToolEntry(name=ev.name)
        streamed = self._live_lines.pop(ev.call_id, 0)
        rest = self._live_partial.pop(ev.call_id, "")
        if rest and streamed <= LIVE_LINES_MAX:
            self.console.print(Text("    " + rest, "dim"))
        style = STYLES.get(ev.status, "yellow")
        state: str = ev.status
        if ev.exit_code is not None:
            state += f" · exit {ev.exit_code}"
        if ev.diff and ev.status == "done":
            added, removed = diff_stats(ev.diff)
            state += f" · +{added} -{removed}"
        name = tool.name or ev.name
        self.console.print(self._tool_line(ev.call_id, name, tool.arguments, state, style))
        body = self._result_body(ev, name, streamed, tool.lines)
        if body is not None:
            self.console.print(Padding(body, (0, 0, 0, 4)))

    def _result_body(
        self, ev: p.ToolCallEnd, name: str, streamed: int, lines: int = 0
    ) -> RenderableType | None:
        if ev.diff and ev.status == "done":
            return diff_text(ev.diff, DIFF_LINES)
        output = ev.output.strip()
        if not output:
            return None
        if ev.status in ("denied", "cancelled"):  # why, in one line
            return Text(output.splitlines()[0], "dim")
        if streamed > LIVE_LINES_MAX:  # the head was shown live: now the tail, and where it all is
            summary = summarize(ev.output, PREVIEW_LINES, lines)
            text = Text(summary.more_line() + "\n", "dim italic")
            text.append("\n".join(summary.tail), "red" if ev.status == "failed" else "dim")
            return text
        if streamed:
            return None  # the user saw it live
        if ev.status != "done":
            return Text(
                "\n".join(output.splitlines()[:PREVIEW_LINES]),
                "red" if ev.status == "failed" else "dim",
            )
        if name == "terminal":
            summary = summarize(ev.output, PREVIEW_LINES, lines)
            more = summary.more_line()
            return Text((more + "\n" if more else "") + "\n".join(summary.tail), "dim")
        return Text(output_summary(ev.output), "dim italic")

    def approval_panel(self, ev: p.ApprovalRequested) -> Panel:
        """What will run, why it asks, and the keys."""
        if ev.name == "exit_plan_mode":  # hermes.engine.plan: a plan to accept
            from hermes.frontends.plain.work_render import plan_panel

            return plan_panel(ev)
        parts: list[RenderableType] = []
        if ev.preview and looks_like_diff(ev.preview):
            parts.append(diff_text(ev.preview, DIFF_LINES))
        elif ev.preview:
            parts.append(Text("$ " + ev.preview, "bold"))
        else:  # one "name: value" a line, never escaped JSON
            parts.append(Text(pretty_arguments(ev.arguments)[:4000], "dim"))
        if ev.catastrophic:
            parts.append(Text(f"⚠ {ev.reason}", "bold red"))
        else:
            parts.append(Text(f"why: {ev.reason}", "dim"))
        keys = Text("[y] once  ")
        if ev.always_rules and not ev.catastrophic:
            workspace = self.transcript.status.workspace
            rules = ", ".join(short_rule(r, workspace) for r in ev.always_rules)
            keys.append(f"[a] always this session: {rules}  ")
        keys.append("[n] deny  [Esc] deny + stop turn   (Enter does nothing)")
        parts.append(keys)
        title = f"allow {ev.name} {key_argument(ev.name, ev.arguments, 60)}?"
        return Panel(Group(*parts), title=title, title_align="left", border_style="yellow")
