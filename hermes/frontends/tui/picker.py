"""The session picker (``hermes --resume`` without an ID, ``/resume``, ``/sessions``).

Recent sessions of this workspace first, each with its title, age and message count;
typing searches (the store's full-text search when it has one). Enter resumes the
highlighted session, Esc closes the picker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from hermes.frontends.common.format import age_label, one_line
from hermes.frontends.common.sessions import SessionRow, find_sessions
from hermes.store.sessions import Store


class SessionPicker(ModalScreen[str | None]):
    """Pick a session; dismisses with its id, or None."""

    BINDINGS = [
        Binding("escape", "dismiss_none", "Close", show=False),
        Binding("down", "move(1)", "Down", show=False, priority=True),
        Binding("up", "move(-1)", "Up", show=False, priority=True),
        Binding("enter", "choose", "Resume", show=False, priority=True),
    ]

    def __init__(
        self,
        store: Store,
        workspace: Path | str,
        *,
        exclude: str = "",
        now: Callable[[], float] = time.time,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__(classes="picker-screen")
        self.store = store
        self.workspace = str(workspace)
        self.exclude = exclude
        self.now = now
        self.rows: list[SessionRow] = []
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static(Text("Resume a session", style="bold"), id="picker-title")
            search = Input(placeholder="type to search…", id="picker-search")
            search.cursor_blink = self.cursor_blink
            yield search
            yield OptionList(id="picker-list")
            yield Static(
                Text("↑↓ choose · Enter resume · Esc close", style="dim"), id="picker-help"
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self.search("")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    @work(exclusive=True, group="picker-search")
    async def search(self, query: str) -> None:
        """List the sessions matching ``query`` (runs off the UI loop; latest wins)."""
        if query:
            await asyncio.sleep(0.05)  # coalesce fast typing
        rows = await asyncio.to_thread(
            find_sessions, self.store, self.workspace, query, exclude=self.exclude
        )
        self.show(rows)

    def show(self, rows: list[SessionRow]) -> None:
        """Fill the list."""
        self.rows = rows
        options = self.query_one(OptionList)
        options.clear_options()
        if not rows:
            options.add_option(Option(Text("no sessions found", style="dim"), disabled=True))
            return
        options.add_options([Option(self._label(row)) for row in rows])
        options.highlighted = 0

    def _label(self, row: SessionRow) -> Text:
        r = row.record
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(one_line(r.title or "(untitled)", 60), style="bold")
        text.append(f"  {age_label(r.updated_at, self.now())}", style="cyan")
        text.append(f" · {r.message_count} msg", style="dim")
        if not row.here:
            text.append(f" · {one_line(r.workspace, 40)}", style="dim italic")
        if row.snippet:
            text.append("\n  " + one_line(row.snippet, 90), style="dim")
        return text

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_choose(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None and 0 <= index < len(self.rows):
            self.dismiss(self.rows[index].record.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if 0 <= event.option_index < len(self.rows):
            self.dismiss(self.rows[event.option_index].record.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
