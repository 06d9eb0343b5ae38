"""The input box: multiline, history across sessions, long pastes, completion menu.

Enter sends; Shift+Enter or Ctrl+J inserts a newline. Up/Down on the first/last line
walk the history. ``/`` at the start completes commands, ``@`` completes workspace
paths; Tab or Enter takes the highlighted completion, Esc closes the menu. A paste of
many lines shows as a placeholder (``[pasted 120 lines #1]``) and is expanded on send.
Ctrl+D on an empty input quits.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from hermes.frontends.common.complete import Completion
from hermes.frontends.common.input_history import InputHistory

PASTE_COLLAPSE_LINES = 12
_PASTE_RE = re.compile(r"\[pasted \d+ lines #(\d+)\]")

Completer = Callable[[str, int], list[Completion]]


class CompletionMenu(OptionList):
    """The completion choices, shown above the input; it never takes focus."""

    can_focus = False

    def show(self, items: list[Completion]) -> None:
        """Show ``items`` (hide when empty), first one highlighted."""
        self.items = items
        self.clear_options()
        if not items:
            self.display = False
            return
        self.add_options(
            [Option(f"{c.label}  [dim]{c.help}[/dim]" if c.help else c.label) for c in items]
        )
        self.highlighted = 0
        self.display = True

    @property
    def chosen(self) -> Completion | None:
        """The highlighted completion, when the menu shows."""
        items: list[Completion] = getattr(self, "items", [])
        if not self.display or self.highlighted is None or not items:
            return None
        return items[self.highlighted]

    def move(self, step: int) -> None:
        """Move the highlight by ``step`` (wrapping)."""
        count = self.option_count
        if count:
            self.highlighted = ((self.highlighted or 0) + step) % count


class PromptInput(TextArea):
    """Where the user types. Posts :class:`PromptInput.Submitted`."""

    BINDINGS = [
        Binding("ctrl+d", "quit_if_empty", "Quit", show=False),
        Binding("tab", "complete", "Complete", show=False),
    ]

    class Submitted(Message):
        """The user pressed Enter: ``text`` is what to send (pastes expanded)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class QuitRequested(Message):
        """Ctrl+D on an empty input."""

    class TabOut(Message):
        """Tab with nothing to complete: the app moves the focus to a tool block."""

    class SendQueued(Message):
        """Enter on an empty input: send the messages queued meanwhile, if any."""

    def __init__(
        self,
        history: InputHistory,
        menu: CompletionMenu,
        completer: Completer,
        *,
        on_keystroke: Callable[[], None] | None = None,
        id: str | None = None,
    ) -> None:
        """``on_keystroke`` hears of every key and paste (an approval waits for typing to
        stop before it takes keys)."""
        super().__init__(
            "",
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            highlight_cursor_line=False,
            placeholder="Message hermes…  (/ for commands, @ for files, Shift+Enter newline)",
        )
        self.input_history = history
        self.menu = menu
        self.completer = completer
        self.on_keystroke = on_keystroke
        self.pastes: dict[int, str] = {}

    # ------------------------------------------------------------------ keys

    async def _on_key(self, event: events.Key) -> None:
        if self.on_keystroke is not None:
            self.on_keystroke()
        key = event.key
        if key == "enter":
            event.stop()
            event.prevent_default()
            if self.menu.chosen is not None:
                self.action_complete()
            else:
                self.submit()
            return
        if key in ("shift+enter", "ctrl+j", "alt+enter"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if key == "escape" and self.menu.display:
            event.stop()
            event.prevent_default()
            self.menu.show([])
            return
        await super()._on_key(event)

    def action_cursor_up(self, select: bool = False) -> None:
        if self.menu.display and not select:
            self.menu.move(-1)
        elif not select and self.cursor_location[0] == 0:
            entry = self.input_history.previous(self.text)
            if entry is not None:
                self._load(entry, at_end=False)
        else:
            super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if self.menu.display and not select:
            self.menu.move(1)
        elif not select and self.cursor_location[0] == self.document.line_count - 1:
            entry = self.input_history.next()
            if entry is not None:
                self._load(entry, at_end=True)
        else:
            super().action_cursor_down(select)

    def action_quit_if_empty(self) -> None:
        if self.text:
            self.action_delete_right()
        else:
            self.post_message(self.QuitRequested())

    def action_complete(self) -> None:
        chosen = self.menu.chosen
        if chosen is None:
            self.post_message(self.TabOut())
            return
        self.replace(chosen.value, self._location(chosen.start), self._location(chosen.end))
        self.menu.show([])
        if chosen.value.startswith("/") and chosen.value.strip() in ("/quit", "/clear", "/new"):
            self.submit()

    # ------------------------------------------------------------------ text

    def _location(self, index: int) -> tuple[int, int]:
        """The (row, column) of character ``index`` of the text."""
        for row, line in enumerate(self.document.lines):
            if index <= len(line):
                return row, index
            index -= len(line) + 1
        return self.document.end

    def _load(self, text: str, *, at_end: bool) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end if at_end else (0, len(text.split("\n", 1)[0])))
        self.menu.show([])

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.refresh_menu()

    def refresh_menu(self) -> None:
        """Recompute the completion menu for the text before the cursor."""
        text = self.text
        if not text or (not text.startswith("/") and "@" not in text):
            if self.menu.display:
                self.menu.show([])
            return
        row, col = self.cursor_location
        cursor = sum(len(line) + 1 for line in self.document.lines[:row]) + col
        self.menu.show(self.completer(text, cursor))

    async def _on_paste(self, event: events.Paste) -> None:
        if self.on_keystroke is not None:
            self.on_keystroke()
        # Terminals send pasted line breaks as carriage returns (CR, or CR LF).
        text = event.text.replace("\r\n", "\n").replace("\r", "\n")
        lines = len(text.splitlines()) or 1
        if lines <= PASTE_COLLAPSE_LINES:
            if text != event.text:
                event.stop()
                event.prevent_default()
                self.insert(text)
                return
            await super()._on_paste(event)
            return
        event.stop()
        event.prevent_default()
        key = len(self.pastes) + 1
        self.pastes[key] = text
        self.insert(f"[pasted {lines} lines #{key}]")

    def expanded_text(self) -> str:
        """The input with every paste placeholder replaced by what was pasted."""

        def put_back(match: re.Match[str]) -> str:
            return self.pastes.get(int(match.group(1)), match.group(0))

        return _PASTE_RE.sub(put_back, self.text) if self.pastes else self.text

    def submit(self) -> None:
        """Send what was typed (nothing when blank) and clear the box."""
        raw = self.text
        if not raw.strip():
            self.post_message(self.SendQueued())
            return
        text = self.expanded_text()
        self.input_history.add(raw if not self.pastes else text)
        self.pastes.clear()
        self.load_text("")
        self.menu.show([])
        self.post_message(self.Submitted(text))
