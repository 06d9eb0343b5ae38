"""Slash commands and ``@path`` completion, shared by the TUI and the plain REPL.

No textual here: the functions take the input text and cursor position and return
what could complete it. Workspace files are listed once (``git ls-files`` when the
workspace is a git checkout, else a bounded walk that skips the usual junk).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SLASH_COMMANDS: dict[str, str] = {
    "/help": "commands and keys",
    "/new": "start a new session",
    "/resume": "resume a session (picker, or /resume ID)",
    "/sessions": "browse this workspace's sessions",
    "/compact": "compact the conversation now",
    "/facts": "facts remembered across sessions (/facts forget ID)",
    "/model": "show or switch the model (/model NAME)",
    "/approvals": "approval mode and 'always' grants (/approvals MODE)",
    "/plan": "plan mode: only reads run until you accept a plan (again: leave it)",
    "/todos": "the to-do list (the TUI folds or unfolds it)",
    "/skills": "list skills; pick one to use it (/skills NAME)",
    "/undo": "undo the file changes of the last turn (/undo N for N turns)",
    "/redo": "re-apply what /undo took back",
    "/rewind": "restore files and/or the conversation to before a turn",
    "/diff": "what the agent changed this session (/diff TURN for one turn)",
    "/copy": "copy the last answer (/copy code: its last code block)",
    "/mcp": "MCP servers and their state (/mcp reconnect NAME)",
    "/hooks": "the configured hooks and the file each comes from",
    "/clear": "clear the screen (the session goes on)",
    "/quit": "quit hermes",
}

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        "dist",
        "build",
        ".idea",
        ".next",
        "target",
    }
)
MAX_FILES = 20_000
_AT_RE = re.compile(r"(?:^|(?<=\s))@([^\s@]*)$")


@dataclass(frozen=True)
class Completion:
    """Replace ``text[start:end]`` with ``value``; ``label`` and ``help`` are for the menu."""

    value: str
    start: int
    end: int
    label: str
    help: str = ""


def parse_slash(text: str) -> tuple[str, str] | None:
    """``("/model", "gpt-4o")`` for ``/model gpt-4o``; None when not a slash command.

    A line starting with ``//`` or ``/`` followed by a path (``/etc/hosts is...``) is
    not a command: only the known names and single words count.
    """
    stripped = text.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    name, _, rest = stripped.partition(" ")
    if "/" in name[1:] or "\n" in name:
        return None
    return name.lower(), rest.strip()


def slash_completions(
    text: str, cursor: int, custom: Mapping[str, str] | None = None
) -> list[Completion]:
    """Command names that complete a ``/word`` typed at the start of the input: the
    built-in ones, then ``custom`` (name -> description: the user's command files)."""
    head = text[:cursor]
    if not head.startswith("/") or " " in head or "\n" in head:
        return []
    return [
        Completion(name, 0, cursor, name, help_)
        for name, help_ in (*SLASH_COMMANDS.items(), *(custom or {}).items())
        if name.startswith(head.lower()) and name != head
    ]


def at_fragment(text: str, cursor: int) -> tuple[int, str] | None:
    """Where an ``@path`` being typed starts (the ``@``) and the fragment after it."""
    match = _AT_RE.search(text[:cursor])
    if match is None:
        return None
    return match.start(), match.group(1)


def path_completions(text: str, cursor: int, files: list[str], limit: int = 12) -> list[Completion]:
    """Workspace files matching the ``@fragment`` before the cursor, best first."""
    found = at_fragment(text, cursor)
    if found is None:
        return []
    start, fragment = found
    return [
        Completion(f"@{path} ", start, cursor, path)
        for path in rank_paths(files, fragment, limit)
        if path != fragment
    ]


def rank_paths(files: list[str], fragment: str, limit: int = 12) -> list[str]:
    """Files whose path contains ``fragment``: path prefix, then name prefix, then inside."""
    if not fragment:
        return sorted(files, key=lambda f: (f.count("/"), f))[:limit]
    needle = fragment.lower()
    scored: list[tuple[int, int, str]] = []
    for path in files:
        low = path.lower()
        if low.startswith(needle):
            rank = 0
        elif os.path.basename(low).startswith(needle):
            rank = 1
        elif needle in low:
            rank = 2
        else:
            continue
        scored.append((rank, len(path), path))
    scored.sort()
    return [p for _, _, p in scored[:limit]]


def workspace_files(root: Path, limit: int = MAX_FILES) -> list[str]:
    """Relative paths of the workspace's files (git's view when it is a checkout)."""
    listed = _git_files(root, limit)
    if listed is not None:
        return listed
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        rel = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            out.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
            if len(out) >= limit:
                return out
    return out


def _git_files(root: Path, limit: int) -> list[str] | None:
    if not (root / ".git").exists():
        return None
    try:
        run = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if run.returncode != 0:
        return None
    return run.stdout.splitlines()[:limit]
