"""Messages typed while the agent works: held here, shown above the input, sent when the
turn ends.

Until then they are the user's: Up (on an empty input) takes the newest back into the
input to edit (send it again to queue it again, or clear it to drop it); Esc
interrupts the turn but does not send them. When the turn ends on its own they go, in
order; after an interrupt they wait for Enter (an empty input sends them).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from hermes.frontends.common.format import one_line


class PendingList(Static):
    """The queued messages, oldest first (hidden when there are none)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[str] = []
        self.waiting = False  # the turn was interrupted: they wait for Enter
        self.display = False

    def add(self, text: str) -> None:
        """Queue ``text``."""
        self.items.append(text)
        self._show()

    def take_last(self) -> str | None:
        """Remove and return the newest queued message (to edit it)."""
        if not self.items:
            return None
        text = self.items.pop()
        self._show()
        return text

    def take_all(self) -> list[str]:
        """Remove and return every queued message, oldest first (to send them)."""
        items, self.items = self.items, []
        self.waiting = False
        self._show()
        return items

    def hold(self) -> None:
        """The turn was interrupted: keep them until the user sends them."""
        self.waiting = bool(self.items)
        self._show()

    def _show(self) -> None:
        self.waiting = self.waiting and bool(self.items)
        self.display = bool(self.items)
        if not self.items:
            return
        text = Text()
        for i, item in enumerate(self.items):
            if i:
                text.append("\n")
            text.append("queued ", style="bold yellow")
            text.append(one_line(item, 200), style="dim")
        hint = (
            "Enter sends them · ↑ edits the last"
            if self.waiting
            else "sent when this turn ends · ↑ edits the last · Esc stops the turn, not them"
        )
        text.append(f"\n{hint}", style="dim italic")
        self.update(text)
