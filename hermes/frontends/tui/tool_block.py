"""A tool call as a block: header, live output, result or diff, and its approval bar.

The header names the call and its key argument and says its state (queued, waiting
for approval, running with elapsed time, done, failed, denied, cancelled, interrupted)
with the exit code and how long it ran. A running command's output streams into a
bounded tail; a finished call shows a short preview of its output (or its coloured diff)
saying how much more there is and where the whole output was saved; Enter (or a click
on the header) expands it. The output is text: select it with the mouse and copy it.

A focused block is highlighted and scrolled into view; typing while it has the focus
goes to the input (the keys are never lost), Esc goes back to the input.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from hermes.frontends.common.format import (
    STATE_ICONS,
    STATE_LABELS,
    diff_stats,
    diff_text,
    elapsed_label,
    key_argument,
    output_summary,
)
from hermes.frontends.common.output_view import summarize
from hermes.frontends.common.transcript import ToolEntry
from hermes.frontends.tui.approval import ApprovalBar
from hermes.frontends.tui.blocks import Block
from hermes.frontends.tui.selectable import highlight

LIVE_LINES = 8
PREVIEW_LINES = 6
DIFF_PREVIEW_LINES = 24
EXPANDED_MAX_LINES = 2000
SHOWN_DURATION = 1.0
"""A finished call says how long it ran from this many seconds on."""
READ_TOOLS = frozenset({"read_file", "search_files", "list", "list_files", "skill_view"})
STATE_STYLES = {
    "queued": "dim",
    "approval": "bold yellow",
    "running": "bold cyan",
    "done": "green",
    "failed": "bold red",
    "denied": "bold red",
    "cancelled": "yellow",
    "interrupted": "yellow",
}


class ToolBlock(Vertical, Block):
    """One tool call, keyed by its call id."""

    can_focus = True
    BINDINGS = [
        Binding("enter", "expand", "Expand", show=False),
        Binding("escape", "leave", "Back to the input", show=False),
    ]
    entry: ToolEntry

    class Typed(Message):
        """A key typed while the block had the focus: it belongs in the input."""

        def __init__(self, character: str) -> None:
            super().__init__()
            self.character = character

    class Left(Message):
        """Esc on a focused block: back to the input."""

    def __init__(
        self, entry: ToolEntry, clock: Callable[[], float] = time.monotonic, query: str = ""
    ) -> None:
        super().__init__(classes="block tool")
        self.entry = entry
        self.clock = clock
        self.needle = query
        self._shown: tuple[object, ...] = ()
        self._header = Static(classes="tool-header")
        self._note = Static(classes="tool-note")
        self._body = Static(classes="tool-body")
        self._bar: ApprovalBar | None = None

    def compose(self) -> ComposeResult:
        yield self._header
        yield self._note
        yield self._body

    def on_mount(self) -> None:
        self.sync()

    def sync(self) -> None:
        """Re-render from the entry when something visible changed."""
        e = self.entry
        elapsed = self._elapsed()
        key = (
            e.state,
            e.note,
            e.agent_usage,
            len(e.live),
            len(e.output),
            e.expanded,
            e.approval,
            elapsed,
            self.needle,
        )
        if key == self._shown:
            return
        self._shown = key
        for state in STATE_LABELS:
            self.set_class(state == e.state, f"state-{state}")
        self._header.update(self._header_grid(elapsed))
        self._note.display = bool(e.note)
        if e.note:
            self._note.update(Text(e.note, style="dim italic"))
        body = self._body_text()
        self._body.display = body is not None
        if body is not None:
            self._body.update(highlight(body, self.needle))
        self._sync_bar()

    def set_query(self, query: str) -> None:
        """Highlight the matches of a search in the output."""
        if query != self.needle:
            self.needle = query
            self.sync()

    def _sync_bar(self) -> None:
        if self.entry.approval is not None and self._bar is None:
            self._bar = ApprovalBar(self.entry.approval)
            self.mount(self._bar)
        elif self.entry.approval is None and self._bar is not None:
            self._bar.remove()
            self._bar = None

    @property
    def bar(self) -> ApprovalBar | None:
        """The approval bar, while the call waits for an answer."""
        return self._bar if self._bar is not None and self._bar.is_attached else None

    def _elapsed(self) -> str:
        e = self.entry
        if e.finished:
            if e.duration is not None and e.duration >= SHOWN_DURATION:
                return elapsed_label(e.duration)
            return ""
        if e.started is None:
            return ""
        return elapsed_label(max(0.0, self.clock() - e.started))

    # ------------------------------------------------------------------ rendering

    def _header_grid(self, elapsed: str) -> RenderableType:
        e = self.entry
        style = STATE_STYLES.get(e.state, "")
        left = Text(no_wrap=True, overflow="ellipsis")
        left.append(f"{STATE_ICONS.get(e.state, '·')} ", style=style)
        if e.agent:  # a subagent's call
            left.append(f"[{e.agent}] ", style="bold magenta")
        left.append(e.name or "tool", style="bold")
        arg = key_argument(e.name, e.arguments, 200)
        if arg:
            left.append("  " + arg)
        right = Text(STATE_LABELS.get(e.state, e.state), style=style, no_wrap=True)
        if elapsed and e.state not in ("queued", "approval"):
            right.append(f" {elapsed}", style="dim")
        if e.exit_code is not None and e.finished:
            right.append(f" · exit {e.exit_code}", style="dim" if e.exit_code == 0 else "red")
        if e.diff and e.state == "done":
            added, removed = diff_stats(e.diff)
            right.append(f" · +{added} -{removed}", style="dim")
        if e.agent_usage:  # a task call: its subagent's tokens
            right.append(f" · {e.agent_usage}", style="dim magenta")
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(left, right)
        return grid

    def _body_text(self) -> Text | None:
        e = self.entry
        if e.state == "approval":
            return None
        if e.state == "running":
            return _tail(e.live, LIVE_LINES, e.lines) if e.live else None
        if not e.finished:
            return None
        if e.agent_calls and e.expanded:  # a task: what its subagent did, then its answer
            calls = Text("\n".join(e.agent_calls) + "\n", style="dim")
            return calls + _head(e.output, EXPANDED_MAX_LINES, "", "")
        if e.diff and e.state == "done":
            return diff_text(e.diff, None if e.expanded else DIFF_PREVIEW_LINES)
        output = e.output
        if not output.strip():
            return None
        style = "red" if e.state == "failed" else "dim"
        if e.expanded:
            return _head(output, EXPANDED_MAX_LINES, style, "")
        if e.state in ("denied", "cancelled"):  # one line says why; the header says what
            return Text(output.strip().splitlines()[0], style="dim")
        if e.name in READ_TOOLS and e.state == "done":
            return Text(f"{output_summary(output)} · enter to expand", style="dim italic")
        if e.tool_class == "exec" or e.name == "terminal" or e.state == "interrupted":
            return _tail(output, PREVIEW_LINES, e.lines, hint=True)
        return _head(output, PREVIEW_LINES, style, " · enter to expand")

    # ------------------------------------------------------------------ focus and keys

    def on_focus(self) -> None:
        self.scroll_visible(animate=False)

    def action_expand(self) -> None:
        """Expand or collapse the output."""
        if self.entry.finished:
            self.entry.expanded = not self.entry.expanded
            self.sync()
            self.scroll_visible(animate=False)

    def action_leave(self) -> None:
        """Esc: back to the input."""
        self.post_message(self.Left())

    def on_key(self, event: events.Key) -> None:
        # Only the block's own keys: its approval bar (a child) answers y/a/n itself.
        if self.app.focused is not self:
            return
        if event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            self.post_message(self.Typed(event.character))

    def on_click(self, event: events.Click) -> None:
        if event.widget is self._header or event.widget is self:
            self.action_expand()


def _tail(text: str, n: int, streamed: int = 0, hint: bool = False) -> Text:
    summary = summarize(text, n, streamed)
    out = Text(style="dim", no_wrap=False)
    more = summary.more_line(" · enter to expand" if hint else "")
    if more:
        out.append(more + "\n", style="italic")
    out.append("\n".join(summary.tail))
    return out


def _head(text: str, n: int, style: str, hint: str) -> Text:
    lines = text.rstrip("\n").splitlines()
    out = Text("\n".join(lines[:n]), style=style)
    hidden = len(lines) - n
    if hidden > 0:
        out.append(f"\n… {hidden} more line{'s' if hidden > 1 else ''}{hint}", style="dim italic")
    return out
