"""The status bar and the queued-messages line above the input.

Status bar: workspace and git branch, model, session title, what the lanes are doing
("3 reads · 1 command running"), context used (tokens and %), tokens in/out for the
session, cost, approval mode, the sandbox ("sandboxed", or in red "NO SANDBOX" /
"sandbox off").
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from hermes.frontends.common.format import one_line
from hermes.frontends.common.transcript import Status
from hermes.frontends.tui.status_line import Places, status_line


class StatusBar(Static):
    """One line at the bottom of the screen (:mod:`hermes.frontends.tui.status_line`
    decides what fits)."""

    places = Places()
    _last: tuple[Status, list[str], int] | None = None

    def show(self, status: Status, running: list[str], approvals: int) -> None:
        """Redraw from the transcript's status."""
        self._last = (status, running, approvals)
        width = max(10, (self.content_size.width or self.app.size.width - 2))
        self.update(status_line(status, running, approvals, self.places, width))

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(*self._last)


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
