"""The folder-trust question, asked before a session opens in a folder whose own
``.hermes/config.yaml`` would loosen what hermes does.

It lists exactly what the file would change. ``y`` trusts the folder for this content,
``n`` or ``Esc`` runs without those settings; Enter never trusts. A ``y`` typed just
before the dialog appeared (the input is live while hermes starts) does not count.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from hermes.trust.workspace import TrustQuestion


class TrustDialog(ModalScreen[bool]):
    """Dismisses with True (trust the folder) or False (run without its settings)."""

    DEFAULT_CSS = """
    TrustDialog {
        align: center middle;
        background: $background 60%;
    }
    #trust {
        width: 90%;
        max-width: 120;
        height: auto;
        max-height: 90%;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    #trust-keys {
        margin-top: 1;
    }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "trust", show=False),
        Binding("n", "answer(False)", "run without", show=False),
        Binding("escape", "answer(False)", "run without", show=False),
    ]

    def __init__(self, question: TrustQuestion, arm_seconds: float = 0.0) -> None:
        super().__init__()
        self.question = question
        self._armed_at = time.monotonic() + arm_seconds

    def compose(self) -> ComposeResult:
        q = self.question
        with Vertical(id="trust"):
            yield Static(Text(q.headline(), style="bold"), id="trust-title")
            body = Text()
            for line in q.lines():
                body.append("  • ")
                body.append(line + "\n")
            body.append(f"\nFolder: {q.folder}", style="dim")
            yield Static(body, id="trust-items")
            keys = Text()
            keys.append(" y ", style="reverse bold green")
            keys.append(" trust this folder (until these files change)   ")
            keys.append(" n ", style="reverse bold red")
            keys.append(" / ")
            keys.append(" esc ", style="reverse bold")
            keys.append(" run without these settings")
            keys.append("   (Enter does nothing here)", style="dim")
            yield Static(keys, id="trust-keys")

    def action_answer(self, trusted: bool) -> None:
        """Answer with a key; a ``y`` before the dialog was armed is ignored."""
        if trusted and time.monotonic() < self._armed_at:
            return  # typed before the question was on screen
        self.dismiss(trusted)

    def on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.notify("Enter never trusts: press y to trust the folder, n or Esc to run without.")
