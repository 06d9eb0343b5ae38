"""What the status bar says, fitted to the terminal's width.

Left: the workspace (shortened) and its git branch, the model, the session title.
Right: what is running, context used (%), tokens in/out, cost (when known), the approval
mode and the sandbox. When it does not fit, the least useful pieces go first (title,
tokens, branch...), so nothing ever runs into anything else, at 80 columns or 40.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text

from hermes.frontends.common.format import context_label, lanes_label, one_line, usage_label
from hermes.frontends.common.transcript import Status
from hermes.frontends.common.welcome import cost_label

GAP = "  "
MODE_STYLES = {"yolo": "bold red", "auto-edit": "bold yellow", "auto": "bold yellow"}


@dataclass(frozen=True)
class Places:
    """What the status line knows besides the transcript's status."""

    workspace: str = ""  # shortened already
    branch: str = ""
    pricing: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Piece:
    text: str
    style: str
    priority: int  # higher stays longer
    right: bool


def pieces(status: Status, running: list[str], approvals: int, places: Places) -> list[Piece]:
    """Every piece the line could show, in order."""
    out: list[Piece] = []
    if places.workspace:
        where = places.workspace + (f" ({places.branch})" if places.branch else "")
        out.append(Piece(where, "", 3, False))
    out.append(Piece(status.model or "starting…", "bold", 6, False))
    if status.title:
        out.append(Piece(one_line(status.title, 48), "dim", 1, False))
    lanes = lanes_label(running, approvals, status.streaming)
    if not lanes and status.busy:
        lanes = "working"
    if lanes:
        out.append(Piece(lanes, "bold cyan", 8, True))
    estimated = status.usage_estimated  # "≈": counted here, the server reported none
    context = context_label(status.context_tokens, status.context_window, estimated)
    out.append(Piece(context, "", 7, True))
    tokens = usage_label(status.prompt_tokens, status.completion_tokens, estimated)
    out.append(Piece(tokens, "", 4, True))
    cost = cost_label(status.prompt_tokens, status.completion_tokens, status.cost, places.pricing)
    if cost:
        out.append(Piece(cost, "", 5, True))
    mode = status.approval_mode
    out.append(Piece(mode, MODE_STYLES.get(mode, "bold green"), 9, True))
    if status.sandbox:
        style = "dim green" if status.sandbox.startswith("sandboxed") else "bold red"
        out.append(Piece(status.sandbox, style, 9, True))
    return out


def _width(items: list[Piece]) -> int:
    left = [p for p in items if not p.right]
    right = [p for p in items if p.right]
    size = sum(len(p.text) for p in items)
    return size + len(GAP) * (max(0, len(left) - 1) + max(0, len(right) - 1) + 1)


def fit(items: list[Piece], width: int) -> tuple[Text, Text]:
    """Left and right texts that fit ``width`` together, least useful pieces left out."""
    kept = list(items)
    while kept and _width(kept) > width:
        drop = min(kept, key=lambda p: (p.priority, -kept.index(p)))
        if drop.priority >= 9 and len(kept) <= 2:
            break
        kept.remove(drop)
    left, right = Text(no_wrap=True, overflow="ellipsis"), Text(no_wrap=True)
    for side, text in ((False, left), (True, right)):
        for i, piece in enumerate(p for p in kept if p.right == side):
            if i:
                text.append(GAP)
            text.append(piece.text, style=piece.style)
    return left, right


def status_line(
    status: Status, running: list[str], approvals: int, places: Places, width: int
) -> Text:
    """The whole line, ``width`` cells at most."""
    left, right = fit(pieces(status, running, approvals, places), width)
    room = max(0, width - right.cell_len - len(GAP))
    left.truncate(room, overflow="ellipsis")
    line = left.copy()
    line.append(" " * max(len(GAP), width - left.cell_len - right.cell_len))
    line.append_text(right)
    line.truncate(width)
    return line
