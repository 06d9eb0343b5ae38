"""``@path`` in a message attaches that file (``@dir/``: a listing of that folder).

What the user typed stays as typed; each attachment follows it in the message the model
receives, between ``<attachment ...>`` and ``</attachment>`` lines, its content capped
(head kept, the rest counted). Front ends show attachments as chips (path, size),
never the pasted content, live and on resume alike: :func:`split` takes a stored
message apart again. No textual here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hermes.execution.output import is_protected, looks_binary_file

MAX_FILE_BYTES = 50_000
"""The most of one file's content attached; the rest is left out and counted."""
MAX_FILE_LINES = 1_000
MAX_LISTING = 300
"""The most entries of a folder listing."""
MAX_ATTACHMENTS = 10

_MENTION_RE = re.compile(r"(?:^|(?<=\s))@([^\s@]+)")
_BLOCK_RE = re.compile(
    r'\n\n<attachment path="(?P<path>[^"]*)" kind="(?P<kind>file|folder)" '
    r"(?P<size>[^>]*)>\n(?P<body>.*?)\n</attachment>",
    re.DOTALL,
)


@dataclass(frozen=True)
class Chip:
    """One attachment as the user sees it: ``src/app.py · 120 lines``."""

    path: str
    kind: str  # file | folder
    size: str  # "120 lines", "12 entries", "120 of 4,000 lines"

    @property
    def label(self) -> str:
        """The chip's text."""
        return f"{self.path} · {self.size}"


@dataclass(frozen=True)
class Expanded:
    """A message with its attachments: ``text`` to send, ``chips`` to show, and the
    mentions that could not be attached (``problems``, one line each)."""

    text: str
    chips: tuple[Chip, ...] = ()
    problems: tuple[str, ...] = ()


def mentions(text: str) -> list[str]:
    """The ``@path`` words of ``text``, in order, each once (trailing punctuation off)."""
    found: list[str] = []
    for match in _MENTION_RE.finditer(text):
        word = match.group(1).rstrip(".,;:!?)")
        if word and word not in found:
            found.append(word)
    return found


def expand(text: str, workspace: Path) -> Expanded:
    """Attach every ``@path`` of ``text`` that names an existing file or folder (a word
    that names nothing, like an e-mail handle, stays plain text)."""
    chips: list[Chip] = []
    blocks: list[str] = []
    problems: list[str] = []
    for word in mentions(text):
        target = (workspace / os.path.expanduser(word)).resolve()
        if not target.exists():
            continue
        if len(chips) >= MAX_ATTACHMENTS:
            problems.append(f"@{word}: not attached (at most {MAX_ATTACHMENTS} per message)")
            continue
        shown = _shown(target, workspace)
        try:
            if is_protected(target):
                problems.append(f"@{word}: hermes' own database is not attached")
                continue
            if target.is_dir():
                body, size = _listing(target)
                kind = "folder"
            else:
                attached = _file(target)
                if attached is None:
                    problems.append(f"@{word}: a binary file; not attached")
                    continue
                body, size = attached
                kind = "file"
        except OSError as exc:
            problems.append(f"@{word}: cannot be read ({exc.strerror or exc})")
            continue
        chips.append(Chip(shown, kind, size))
        blocks.append(
            f'\n\n<attachment path="{shown}" kind="{kind}" size="{size}">\n{body}\n</attachment>'
        )
    return Expanded(text + "".join(blocks), tuple(chips), tuple(problems))


def split(message: str) -> tuple[str, tuple[Chip, ...]]:
    """A sent message taken apart again: what the user typed and its attachments."""
    start = message.find('\n\n<attachment path="')
    if start < 0:
        return message, ()
    chips: list[Chip] = []
    pos = start
    for match in _BLOCK_RE.finditer(message, start):
        if match.start() != pos:
            return message, ()  # not a tail of attachments only: leave it as it is
        size = re.search(r'size="([^"]*)"', match.group("size"))
        chips.append(Chip(match.group("path"), match.group("kind"), size.group(1) if size else ""))
        pos = match.end()
    if pos != len(message) or not chips:
        return message, ()
    return message[:start], tuple(chips)


def _shown(path: Path, workspace: Path) -> str:
    if path == workspace:
        return "./"
    if path.is_relative_to(workspace):
        rel = path.relative_to(workspace).as_posix()
        return rel + "/" if path.is_dir() else rel
    return str(path) + ("/" if path.is_dir() else "")


def _file(path: Path) -> tuple[str, str] | None:
    with path.open("rb") as f:
        head = f.read(MAX_FILE_BYTES + 1)
        total_bytes = os.fstat(f.fileno()).st_size
    if looks_binary_file(head[:8192]):
        return None
    text = head[:MAX_FILE_BYTES].decode("utf-8", errors="replace")
    lines = text.splitlines()
    kept = lines[:MAX_FILE_LINES]
    cut = len(head) > MAX_FILE_BYTES or len(lines) > MAX_FILE_LINES
    body = "\n".join(kept)
    if cut:
        total = _count_lines(path) if total_bytes < 50 * MAX_FILE_BYTES else None
        rest = f"{total - len(kept):,} more lines" if total is not None else "the rest"
        body += f"\n[... {rest} of this file not attached; read_file reads them ...]"
        size = f"{len(kept):,} of {total:,} lines" if total is not None else f"{len(kept)} lines+"
    else:
        size = f"{len(kept):,} line{'s' if len(kept) != 1 else ''}"
    return body, size


def _count_lines(path: Path) -> int:
    count, last = 0, b"\n"
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (0 if last == b"\n" else 1)


def _listing(path: Path) -> tuple[str, str]:
    names = []
    with os.scandir(path) as entries:
        for entry in entries:
            names.append(entry.name + ("/" if entry.is_dir() else ""))
    names.sort(key=lambda n: (not n.endswith("/"), n.lower()))
    shown = names[:MAX_LISTING]
    body = "\n".join(shown)
    if len(names) > MAX_LISTING:
        body += f"\n[... {len(names) - MAX_LISTING:,} more entries ...]"
    return body, f"{len(names):,} entr{'ies' if len(names) != 1 else 'y'}"
