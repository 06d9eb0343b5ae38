"""The status bar and the queued-messages line above the input.

Status bar: model, session title, context used (tokens and %), tokens in/out for the
session, approval mode, and what the lanes are doing ("3 reads · 1 command running").
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from hermes.frontends.common.format import context_label, count_tokens_label, lanes_label, one_line
from hermes.frontends.common.transcript import Status


class StatusBar(Static):
    """One line at the bottom of the screen."""

    def show(self, status: Status, running: list[str], approvals: int) -> None:
        """Redraw from the transcript's status."""
        left = Text(no_wrap=True, overflow="ellipsis")
        left.append(status.model or "starting…", style="bold")
        if status.title:
            left.append("  " + one_line(status.title, 48))
        lanes = lanes_label(running, approvals, status.streaming)
        if not lanes and status.busy:
            lanes = "working"
        right = Text(no_wrap=True)
        if lanes:
            right.append(lanes, style="bold cyan")
            right.append("  ")
        right.append(context_label(status.context_tokens, status.context_window))
        right.append(
            f"  ↑{count_tokens_label(status.prompt_tokens)} "
            f"↓{count_tokens_label(status.completion_tokens)}"
        )
        mode_style = {"yolo": "bold red", "auto-edit": "bold yellow"}.get(
            status.approval_mode, "bold green"
        )
        right.append("  ")
        right.append(status.approval_mode, style=mode_style)
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(left, right)
        self.update(grid)


class QueuedLine(Static):
    """Messages sent while the agent works, until the engine delivers them."""

    def show(self, queued: list[str]) -> None:
        """Show ``queued`` (hidden when empty)."""
        self.display = bool(queued)
        if queued:
            text = Text()
            for i, item in enumerate(queued):
                if i:
                    text.append("\n")
                text.append("queued ", style="bold yellow")
                text.append(one_line(item, 200), style="dim")
            self.update(text)
