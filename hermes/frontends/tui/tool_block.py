"""A tool call as a block: header, live output, result or diff, and its approval bar.

The header names the call and its key argument and says its state (queued, waiting
for approval, running with elapsed time, done, failed, denied, cancelled). A running
command's output streams into a bounded tail; a finished call shows a short preview of
its output (or its coloured diff) with a line count, and Enter (or a click) expands it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
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
from hermes.frontends.common.transcript import ToolEntry
from hermes.frontends.tui.approval import ApprovalBar
from hermes.frontends.tui.blocks import Block

LIVE_LINES = 8
PREVIEW_LINES = 6
DIFF_PREVIEW_LINES = 24
EXPANDED_MAX_LINES = 2000
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
        Binding("enter,space", "expand", "Expand", show=False),
    ]
    entry: ToolEntry

    def __init__(self, entry: ToolEntry, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(classes="block tool")
        self.entry = entry
        self.clock = clock
        self._shown: tuple[object, ...] = ()
        self._view = Static(classes="tool-view")
        self._bar: ApprovalBar | None = None

    def compose(self) -> ComposeResult:
        yield self._view

    def on_mount(self) -> None:
        self.sync()

    def sync(self) -> None:
        """Re-render from the entry when something visible changed."""
        e = self.entry
        elapsed = self._elapsed()
        key = (e.state, e.note, len(e.live), len(e.output), e.expanded, e.approval, elapsed)
        if key == self._shown:
            return
        self._shown = key
        for state in STATE_LABELS:
            self.set_class(state == e.state, f"state-{state}")
        parts: list[RenderableType] = [self._header(elapsed)]
        if e.note:
            parts.append(Text(e.note, style="dim italic"))
        body = self._body()
        if body is not None:
            parts.append(Padding(body, (0, 0, 0, 2)))
        self._view.update(Group(*parts))
        self._sync_bar()

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
        if e.started is None:
            return ""
        end = e.ended if e.ended is not None else self.clock()
        return elapsed_label(max(0.0, end - e.started))

    # ------------------------------------------------------------------ rendering

    def _header(self, elapsed: str) -> RenderableType:
        e = self.entry
        style = STATE_STYLES.get(e.state, "")
        left = Text(no_wrap=True, overflow="ellipsis")
        left.append(f"{STATE_ICONS.get(e.state, '·')} ", style=style)
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
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(left, right)
        return grid

    def _body(self) -> RenderableType | None:
        e = self.entry
        if e.state == "approval":
            return None
        if e.state == "running":
            return _tail(e.live, LIVE_LINES) if e.live else None
        if not e.finished:
            return None
        if e.diff and e.state == "done":
            return diff_text(e.diff, None if e.expanded else DIFF_PREVIEW_LINES)
        output = e.output
        if not output.strip():
            return None
        style = "red" if e.state == "failed" else "dim"
        if e.expanded:
            return _head(output, EXPANDED_MAX_LINES, style, "")
        if e.state in ("denied", "cancelled", "interrupted"):
            return Text(output.strip().splitlines()[0], style="dim")
        if e.name in READ_TOOLS and e.state == "done":
            return Text(f"{output_summary(output)} · enter to expand", style="dim italic")
        if e.tool_class == "exec" or e.name == "terminal":
            return _tail(output, PREVIEW_LINES, hint=True)
        return _head(output, PREVIEW_LINES, style, " · enter to expand")

    # ------------------------------------------------------------------ actions

    def action_expand(self) -> None:
        """Expand or collapse the output."""
        if self.entry.finished:
            self.entry.expanded = not self.entry.expanded
            self.sync()

    def on_click(self, event: events.Click) -> None:
        if event.widget is not None and event.widget.has_class("tool-view"):
            self.action_expand()


def _tail(text: str, n: int, hint: bool = False) -> Text:
    lines = text.rstrip("\n").splitlines()
    out = Text(style="dim", no_wrap=False)
    hidden = len(lines) - n
    if hidden > 0:
        more = f"… {hidden} more line{'s' if hidden > 1 else ''}"
        out.append(more + (" · enter to expand" if hint else "") + "\n", style="italic")
    out.append("\n".join(lines[-n:]))
    return out


def _head(text: str, n: int, style: str, hint: str) -> Text:
    lines = text.rstrip("\n").splitlines()
    out = Text("\n".join(lines[:n]), style=style)
    hidden = len(lines) - n
    if hidden > 0:
        out.append(f"\n… {hidden} more line{'s' if hidden > 1 else ''}{hint}", style="dim italic")
    return out
