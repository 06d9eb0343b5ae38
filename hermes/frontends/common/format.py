"""Text helpers shared by the TUI and the plain REPL (no textual here).

How a tool call is summed up in one line, how a diff is coloured, how big numbers and
ages read, what the lanes are doing, what undo, redo and rewind report, and finished
Markdown as one renderable. Everything returns plain ``str`` or ``rich`` renderables so
both front ends can use it.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text

from hermes import protocol as p

if TYPE_CHECKING:
    from rich.markdown import Markdown

    from hermes.checkpoints.ops import TurnSummary

KEY_ARGUMENTS: Mapping[str, tuple[str, ...]] = {
    "terminal": ("command",),
    "read_file": ("path",),
    "write_file": ("path",),
    "patch": ("path",),
    "search_files": ("pattern", "path"),
    "list": ("path",),
    "list_files": ("path",),
    "skill_view": ("name",),
    "task": ("description",),
}
"""Which argument names the call, per tool (the first one present wins)."""

STATE_LABELS: Mapping[str, str] = {
    "queued": "queued",
    "approval": "waiting for approval",
    "running": "running",
    "done": "done",
    "failed": "failed",
    "denied": "denied",
    "cancelled": "cancelled",
    "interrupted": "interrupted",
}

STATE_ICONS: Mapping[str, str] = {
    "queued": "○",
    "approval": "?",
    "running": "●",
    "done": "✓",
    "failed": "✗",
    "denied": "⊘",
    "cancelled": "■",
    "interrupted": "■",
}

LANE_NOUNS: Mapping[str, tuple[str, str]] = {
    "read": ("read", "reads"),
    "write": ("edit", "edits"),
    "exec": ("command", "commands"),
    "hook": ("hook", "hooks"),
}


def parse_arguments(arguments: str) -> dict[str, Any]:
    """The call's arguments as a dict ({} when they are not a JSON object)."""
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def one_line(text: str, width: int = 80) -> str:
    """``text`` on one line, shortened to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


def key_argument(name: str, arguments: str, width: int = 80) -> str:
    """The argument that says what a call does: the command, the path, the pattern."""
    args = parse_arguments(arguments)
    for key in KEY_ARGUMENTS.get(name, ()):
        value = args.get(key)
        if isinstance(value, str) and value:
            return one_line(value, width)
    for value in args.values():
        if isinstance(value, str) and value:
            return one_line(value, width)
    return ""


def looks_like_diff(text: str) -> bool:
    """Whether ``text`` is a unified diff (as opposed to a command)."""
    return text.startswith(("--- ", "diff ", "@@ ")) or "\n@@ " in text[:2000]


def diff_text(diff: str, max_lines: int | None = None) -> Text:
    """A unified diff coloured line by line: additions green, removals red, hunks cyan."""
    out = Text(no_wrap=False)
    lines = diff.splitlines()
    shown = lines if max_lines is None else lines[:max_lines]
    for i, line in enumerate(shown):
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = "dim"
        out.append(line, style=style)
        if i < len(shown) - 1:
            out.append("\n")
    if max_lines is not None and len(lines) > max_lines:
        out.append(f"\n… {len(lines) - max_lines} more diff lines", style="dim italic")
    return out


def short_rule(rule: str, workspace: str) -> str:
    """An approval rule as the user reads it: paths inside the workspace made relative."""
    tool, sep, pattern = rule.partition(":")
    root = workspace.rstrip("/") + "/"
    if sep and workspace and pattern.startswith(root):
        return f"{tool}:{pattern[len(root) :]}"
    return rule


def diff_stats(diff: str) -> tuple[int, int]:
    """Lines added and removed by a unified diff."""
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def count_tokens_label(n: int) -> str:
    """12, 1.2k, 12k, 1.2M."""
    if n < 1000:
        return str(n)
    if n < 10_000:
        return f"{n / 1000:.1f}k"
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}M"


def context_label(used: int, window: int, estimated: bool = False) -> str:
    """``ctx 12k/128k (9%)``; ``ctx ≈12k/128k (9%)`` when ``used`` was counted locally
    (the server reported no usage)."""
    mark = "≈" if estimated else ""
    if window <= 0:
        return f"ctx {mark}{count_tokens_label(used)}"
    pct = round(100 * used / window)
    return f"ctx {mark}{count_tokens_label(used)}/{count_tokens_label(window)} ({pct}%)"


def usage_label(prompt: int, completion: int, estimated: bool = False) -> str:
    """``↑12k ↓3k`` (tokens in and out); ``≈↑12k ↓3k`` when counted locally."""
    mark = "≈" if estimated else ""
    return f"{mark}↑{count_tokens_label(prompt)} ↓{count_tokens_label(completion)}"


def age_label(then: float, now: float | None = None) -> str:
    """How long ago, in words: ``just now``, ``5 min ago``, ``3 h ago``, ``2 d ago``."""
    seconds = max(0.0, (time.time() if now is None else now) - then)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 86400 * 60:
        return f"{int(seconds // 86400)} d ago"
    return time.strftime("%Y-%m-%d", time.localtime(then))


def elapsed_label(seconds: float) -> str:
    """``0.4s``, ``12s``, ``3m05s``."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{int(seconds)}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def lanes_label(running: Iterable[str], approvals: int = 0, streaming: bool = False) -> str:
    """What the lanes are doing: ``3 reads · 1 command running``, ``1 approval waiting``."""
    counts: dict[str, int] = {}
    for tool_class in running:
        counts[tool_class] = counts.get(tool_class, 0) + 1
    parts = []
    for tool_class in ("read", "write", "exec", "hook"):
        n = counts.get(tool_class, 0)
        if n:
            singular, plural = LANE_NOUNS[tool_class]
            parts.append(f"{n} {singular if n == 1 else plural}")
    text = " · ".join(parts)
    if text:
        text += " running"
    if approvals:
        text = (text + " · " if text else "") + (
            f"{approvals} approval{'s' if approvals > 1 else ''} waiting"
        )
    if not text and streaming:
        text = "model responding"
    return text


def output_summary(output: str) -> str:
    """``12 lines`` / ``1 line`` / ``empty`` for a collapsed tool output."""
    if not output.strip():
        return "no output"
    n = output.count("\n") + (0 if output.endswith("\n") else 1)
    return f"{n} line{'s' if n != 1 else ''}"


def paragraph_cut(text: str) -> int:
    """How much of ``text`` is whole paragraphs outside code fences (0: none yet)."""
    cut = 0
    fence = False
    pos = 0
    for line in text.splitlines(keepends=True):
        pos += len(line)
        if not line.endswith("\n"):
            break
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            if not fence:
                cut = pos  # a closed fence is a whole block
            continue
        if not fence and not line.strip():
            cut = pos
    return cut


# ---------------------------------------------------------------------- undo, redo, rewind

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


# ---------------------------------------------------------------------- Markdown

CODE_THEME = "monokai"


@functools.cache
def _markdown_class() -> type[Markdown]:
    # rich.markdown pulls in markdown-it: loaded on first use, never at start-up.
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.markdown import CodeBlock, Heading, JustifyMethod, MarkdownElement
    from rich.markdown import Markdown as RichMarkdown
    from rich.syntax import Syntax

    class LeftHeading(Heading):
        LEVEL_ALIGN: ClassVar[dict[str, JustifyMethod]] = {f"h{n}": "left" for n in range(1, 7)}

    class FlushCode(CodeBlock):
        """A code block without a left margin: code selected on screen pastes as it is."""

        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            code = str(self.text).rstrip()
            yield Syntax(
                code, self.lexer_name, theme=self.theme, word_wrap=True, padding=(1, 1, 1, 0)
            )

    class LeftMarkdown(RichMarkdown):
        """rich's Markdown with left-aligned headings and flush code blocks."""

        elements: ClassVar[dict[str, type[MarkdownElement]]] = {
            **RichMarkdown.elements,
            "heading_open": LeftHeading,
            "fence": FlushCode,
            "code_block": FlushCode,
        }

    return LeftMarkdown


def preload_markdown() -> None:
    """Import the Markdown parser now (while the screen waits anyway), not in the middle
    of painting the first reply."""
    _markdown_class()


def render_markdown(text: str) -> Markdown:
    """``text`` as a renderable: left-aligned headings, highlighted code, plain links.

    A reply that is still streaming is a Textual ``Markdown`` widget; once it is final it
    becomes one ``Static`` showing this renderable, so the thousands of replies in a long
    session cost one widget each, not dozens.
    """
    return _markdown_class()(text, code_theme=CODE_THEME, hyperlinks=False)
