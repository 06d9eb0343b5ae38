"""Project instructions: ``AGENTS.md`` files (personal, then repository root down to
the workspace, nearest last) become one block of the system prompt, within a budget."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hermes.paths import hermes_home
from hermes.tokens import estimate_tokens

INSTRUCTIONS_FILE = "AGENTS.md"
MAX_INSTRUCTION_FILE_BYTES = 1024 * 1024

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstructionFile:
    """One ``AGENTS.md`` and its text."""

    path: Path
    text: str


def find_repo_root(start: Path) -> Path | None:
    """The nearest ancestor of ``start`` (itself included) holding ``.git``, or None."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def find_instruction_files(workspace: Path, home: Path | None = None) -> list[InstructionFile]:
    """``$HERMES_HOME/AGENTS.md`` first, then ``AGENTS.md`` from the repository root
    down to the workspace (nearest last). Without a repository, only the workspace's.

    Empty and unreadable files are left out (unreadable ones are logged).
    """
    home = hermes_home() if home is None else home
    workspace = Path(os.path.realpath(workspace))
    root = find_repo_root(workspace) or workspace
    dirs = [workspace, *(p for p in workspace.parents if p.is_relative_to(root))]
    candidates = [home / INSTRUCTIONS_FILE, *(d / INSTRUCTIONS_FILE for d in reversed(dirs))]
    found: list[InstructionFile] = []
    seen: set[str] = set()
    for path in candidates:
        if not path.is_file():
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        try:
            with path.open("rb") as fh:
                text = fh.read(MAX_INSTRUCTION_FILE_BYTES).decode("utf-8", errors="replace")
        except OSError as exc:
            log.warning("skipped %s: %s", path, exc.strerror or exc)
            continue
        if text.strip():
            found.append(InstructionFile(path=path, text=text))
    return found


_INSTRUCTIONS_HEAD = (
    "## Project instructions (AGENTS.md)\n"
    "Follow these. When they conflict, later (more specific) files win."
)


def instructions_block(
    files: Sequence[InstructionFile],
    budget_tokens: int = 2000,
    count: Callable[[str], int] | None = None,
) -> str:
    """The ``AGENTS.md`` files as one system-prompt block, each under a header with its path.

    Over budget, the nearest (last) files are kept whole first; the next one is cut to
    fit and farther ones (personal first) are dropped, with a note saying by how much.
    Returns "" when there is nothing to include.
    """
    count = count or estimate_tokens
    sections = [(f"### {f.path}\n", f.text.strip()) for f in files if f.text.strip()]
    if not sections:
        return ""
    full = _assemble([h + t for h, t in sections], "")
    total = count(full)
    if total <= budget_tokens:
        return full
    note = (
        f"[AGENTS.md instructions truncated: {total - budget_tokens} tokens over the "
        f"{budget_tokens}-token budget]"
    )
    kept: list[str] = []  # nearest first
    for header, text in reversed(sections):
        if count(_assemble([header + text, *kept], note)) <= budget_tokens:
            kept.insert(0, header + text)
            continue
        cut = _cut_to_fit(header, text, kept, note, budget_tokens, count)
        if cut:
            kept.insert(0, cut)
        break
    return _assemble(kept, note)


def _assemble(sections: Sequence[str], note: str) -> str:
    return "\n\n".join([_INSTRUCTIONS_HEAD, *sections, *([note] if note else [])])


def _cut_to_fit(
    header: str, text: str, rest: list[str], note: str, budget: int, count: Callable[[str], int]
) -> str:
    """``header`` + the longest prefix of ``text`` (cut at a line end when close) + a
    marker such that the block with ``rest`` after it fits ``budget``; "" if none does."""
    marker = "\n[... truncated]"
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(_assemble([header + text[:mid].rstrip() + marker, *rest], note)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return ""
    newline = text.rfind("\n", 0, lo)
    return header + text[: newline if newline > lo // 2 else lo].rstrip() + marker
