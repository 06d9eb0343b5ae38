"""A tool's output in a few lines: its tail, how much more there is, and where the
whole of it was saved (no textual here). Shared by the TUI's tool blocks and the plain
REPL, so both count the same.

A command's result is capped before the model sees it (head, a note of the bytes left
out and the file holding everything, tail), so the lines in the result are not the
lines the command printed; the count streamed live is, when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SAVED_RE = re.compile(r"saved to (\S+?)(?=;| \.\.\.\]| without|\]|$)", re.M)
_OMITTED_RE = re.compile(r"\[\.\.\. ([\d,]+) bytes omitted")


@dataclass(frozen=True)
class OutputSummary:
    """What a collapsed output says besides its last lines."""

    tail: list[str]
    hidden_lines: int  # lines not shown (exact when known, else those in the result)
    omitted_bytes: int  # bytes the result itself left out (0: it is whole)
    saved: str  # the file holding the whole output ("" when none)

    def more_line(self, hint: str = "") -> str:
        """``… 4,960 more lines (12,345 bytes not in the result) · full output: PATH``."""
        parts: list[str] = []
        if self.hidden_lines > 0:
            n = self.hidden_lines
            parts.append(f"… {n:,} more line{'s' if n != 1 else ''}")
        elif self.omitted_bytes:
            parts.append("…")
        if self.omitted_bytes:
            parts.append(f"({self.omitted_bytes:,} bytes not kept in the result)")
        text = " ".join(parts)
        if self.saved:
            text += f"{' · ' if text else ''}full output: {self.saved}"
        if text and hint:
            text += hint
        return text


def saved_path(output: str) -> str:
    """The file a capped output was saved to, as its note says ("" when none)."""
    match = _SAVED_RE.search(output)
    return match.group(1) if match else ""


def summarize(output: str, keep: int, streamed_lines: int = 0) -> OutputSummary:
    """The last ``keep`` lines of ``output`` and what is left unsaid; ``streamed_lines``:
    the lines the command printed as counted live (0: unknown, e.g. on resume)."""
    lines = output.rstrip("\n").splitlines()
    omitted = _OMITTED_RE.search(output)
    omitted_bytes = int(omitted.group(1).replace(",", "")) if omitted else 0
    body = [ln for ln in lines if not (ln.startswith("[... ") and ln.endswith(" ...]"))]
    tail = body[-keep:] if keep else []
    total = max(streamed_lines, len(body))  # the live count knows what a cap dropped
    return OutputSummary(tail, total - len(tail), omitted_bytes, saved_path(output))
