"""Text for undo, redo and rewind, shared by the TUI and the plain REPL (no textual)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from hermes import protocol as p
from hermes.checkpoint_ops import TurnSummary

CONFLICT_CHOICES: tuple[tuple[p.ConflictChoice, str], ...] = (
    ("keep_mine", "keep mine: leave the file as you have it"),
    ("take_checkpoint", "take the checkpoint: restore it (your version is saved first)"),
    ("skip", "skip this file"),
)


def turn_rows(turns: Sequence[TurnSummary]) -> list[tuple[str, str]]:
    """``(turn, label)`` rows for the /rewind list, newest first."""
    rows = []
    for t in reversed(turns):
        when = time.strftime("%H:%M", time.localtime(t.created_at))
        files = f"{len(t.files)} file(s)" + (" + commands" if t.ran_commands else "")
        flag = " [undone]" if t.undone else " [rewound]" if t.rewound else ""
        rows.append((str(t.turn), f"{t.turn:>3}  {when}  {files:<20} {t.prompt[:60]}{flag}"))
    return rows


def describe(event: p.UndoDone | p.RewindDone) -> str:
    """The notice an undo, redo or rewind leaves in the conversation."""
    if isinstance(event, p.UndoDone):
        what = "redo" if event.redo else "undo"
        head = f"{what} of turn(s) {', '.join(map(str, event.turns)) or '-'}"
    else:
        parts = [
            n for n, on in (("files", event.files), ("conversation", event.conversation)) if on
        ]
        head = f"rewound {' and '.join(parts)} to before turn {event.turn}"
    lines = [head]
    if event.files_restored:
        lines.append("restored: " + ", ".join(event.files_restored))
    if event.files_skipped:
        lines.append("skipped: " + ", ".join(event.files_skipped))
    if event.note:
        lines.append(event.note)
    return "\n".join(lines)
