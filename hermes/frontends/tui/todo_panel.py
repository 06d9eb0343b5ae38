"""The to-do list pinned above the input, folded to one line on a click or ``/todos``.

Unfolded: a header (``To-do 2/5 done``) and one line per item: done items dim and
struck through, the one in progress bold. Folded: the header and the item in progress.
Hidden while the session has no list.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.widgets import Static

from hermes import protocol as p
from hermes.frontends.common.format import one_line
from hermes.frontends.common.work import current_todo, todo_counts, todo_lines

ITEM_STYLES = {"completed": "dim strike", "in_progress": "bold", "pending": ""}
MARK_STYLES = {"completed": "green", "in_progress": "bold cyan", "pending": "dim"}
MAX_LINES = 12
"""Items shown unfolded; a longer list says how many more there are."""


class TodoPanel(Static):
    """The session's to-do list."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: tuple[p.TodoItem, ...] = ()
        self.folded = False
        self.display = False

    def show(self, items: Sequence[p.TodoItem]) -> None:
        """Show ``items`` (hidden when there are none)."""
        self.items = tuple(items)
        self.display = bool(self.items)
        if self.items:
            self.update(self.render_list())

    def toggle(self) -> None:
        """Fold or unfold."""
        self.folded = not self.folded
        if self.items:
            self.update(self.render_list())

    def render_list(self) -> Text:
        """What the panel shows now."""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("To-do ", style="bold")
        text.append(todo_counts(self.items), style="dim")
        if self.folded:
            now = current_todo(self.items)
            if now is not None:
                text.append("  ▸ ", style="bold cyan")
                text.append(one_line(now.content, 120), style="bold")
            text.append("   (click or /todos to unfold)", style="dim italic")
            return text
        text.append("   (click or /todos to fold)", style="dim italic")
        lines = todo_lines(self.items)
        for mark, content, status in lines[:MAX_LINES]:
            text.append("\n ")
            text.append(mark, style=MARK_STYLES[status])
            text.append(" ")
            text.append(one_line(content, 160), style=ITEM_STYLES[status])
        if len(lines) > MAX_LINES:
            text.append(f"\n … {len(lines) - MAX_LINES} more", style="dim italic")
        return text

    def on_click(self, event: events.Click) -> None:
        self.toggle()
