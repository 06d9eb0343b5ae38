"""What the user typed, across sessions: ``$HERMES_HOME/input_history`` (no textual here).

One entry per line, JSON-encoded (so multiline entries stay one line), oldest first,
bounded. Shared by the TUI and the plain REPL. Browsing works like a shell: Up walks
back from the newest entry, Down walks forward and finally returns what was being
typed before browsing started.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hermes.paths import hermes_home

MAX_ENTRIES = 1000


def history_path() -> Path:
    """Where the input history lives."""
    return hermes_home() / "input_history"


class InputHistory:
    """A bounded list of past inputs with a browsing cursor."""

    def __init__(self, path: Path | None = None, max_entries: int = MAX_ENTRIES) -> None:
        self.path = path if path is not None else history_path()
        self.max_entries = max_entries
        self.entries: list[str] = self._load()
        self._cursor: int | None = None
        self._draft = ""

    def _load(self) -> list[str]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        entries: list[str] = []
        for line in lines:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, str) and value:
                entries.append(value)
        return entries[-self.max_entries :]

    def add(self, text: str) -> None:
        """Remember ``text`` (not blank, not a repeat of the last entry) and save."""
        self.reset()
        if not text.strip() or (self.entries and self.entries[-1] == text):
            return
        self.entries.append(text)
        trimmed = len(self.entries) > self.max_entries
        if trimmed:
            del self.entries[: len(self.entries) - self.max_entries]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if trimmed or not self.path.exists():
                self._rewrite()
            else:
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(text, ensure_ascii=False) + "\n")
        except OSError:
            pass  # history is a convenience; never fail a turn over it

    def _rewrite(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(
            "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in self.entries),
            encoding="utf-8",
        )
        os.replace(tmp, self.path)

    def reset(self) -> None:
        """Stop browsing."""
        self._cursor = None
        self._draft = ""

    @property
    def browsing(self) -> bool:
        """Whether Up/Down are walking the history."""
        return self._cursor is not None

    def previous(self, current: str) -> str | None:
        """The entry before the one shown (or the newest); None when there is none."""
        if not self.entries:
            return None
        if self._cursor is None:
            self._draft = current
            self._cursor = len(self.entries)
        if self._cursor == 0:
            return None
        self._cursor -= 1
        return self.entries[self._cursor]

    def next(self) -> str | None:
        """The entry after the one shown, the saved draft at the end; None if not browsing."""
        if self._cursor is None:
            return None
        self._cursor += 1
        if self._cursor >= len(self.entries):
            draft = self._draft
            self.reset()
            return draft
        return self.entries[self._cursor]
