"""A small modal list: pick one item (a skill to use, a grant to revoke) or Esc; and the
question an undo asks about a file the user changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from hermes import protocol as p
from hermes.frontends.common.format import CONFLICT_CHOICES


class ListDialog(ModalScreen[str | None]):
    """Shows ``items`` as ``(value, label)``; dismisses with the chosen value or None."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close", show=False)]

    def __init__(self, title: str, items: list[tuple[str, str]], hint: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.items = items
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            options = OptionList(id="dialog-list")
            if self.items:
                options.add_options([Option(Text(label)) for _, label in self.items])
            else:
                options.add_option(Option(Text("nothing here", style="dim"), disabled=True))
            yield options
            yield Static(Text(self.hint, style="dim"), id="dialog-help")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if self.items:
            options.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if 0 <= event.option_index < len(self.items):
            self.dismiss(self.items[event.option_index][0])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def ask_conflict(
    app: App[Any], event: p.ConflictFound, answer: Callable[[p.ConflictChoice], None]
) -> None:
    """Ask what to do with a file the user changed since the agent left it; ``answer``
    gets the choice (``skip`` on Esc)."""
    title = f"{event.path} changed since the agent left it ({event.reason})"
    if event.user_diff:
        title += "\n" + event.user_diff[:1500]

    def chosen(choice: str | None) -> None:
        picked: p.ConflictChoice = "skip"
        for value, _ in CONFLICT_CHOICES:
            if value == choice:
                picked = value
        answer(picked)

    app.push_screen(
        ListDialog(title, list(CONFLICT_CHOICES), "Enter chooses · Esc skips the file"), chosen
    )
