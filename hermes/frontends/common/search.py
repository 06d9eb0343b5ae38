"""Searching the conversation, and every entry as plain text (no textual here).

:func:`entry_text` is an entry as plain text with nothing left out: a call's full
arguments and output, a reply's reasoning. The transcript view (Ctrl+T) shows it; the
search (Ctrl+F) looks through it, case-insensitively, over the whole session, not only
what is on screen. Lowered texts are cached per entry, so searching a 10,000-message
session again costs a scan, not a rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from hermes.frontends.common.format import STATE_LABELS, elapsed_label
from hermes.frontends.common.transcript import (
    AssistantEntry,
    Entry,
    NoticeEntry,
    ToolEntry,
    UserEntry,
)


def pretty_arguments(arguments: str) -> str:
    """A call's arguments for people: one ``name: value`` per line, a multi-line string
    value as an indented block (not escaped JSON); unparseable text as it is."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return arguments
    if not isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, indent=2)
    lines: list[str] = []
    for key, item in value.items():
        if isinstance(item, str) and "\n" in item:
            lines.append(f"{key}:")
            lines.extend("    " + line for line in item.split("\n"))
        elif isinstance(item, str):
            lines.append(f"{key}: {item}")
        else:
            lines.append(f"{key}: {json.dumps(item, ensure_ascii=False)}")
    return "\n".join(lines)


def tool_status(entry: ToolEntry) -> str:
    """``done · exit 0 · 1.2s``."""
    parts = [STATE_LABELS.get(entry.state, entry.state)]
    if entry.exit_code is not None and entry.finished:
        parts.append(f"exit {entry.exit_code}")
    if entry.duration is not None and entry.finished and entry.duration >= 1.0:
        parts.append(elapsed_label(entry.duration))  # shorter is not worth a word
    return " · ".join(parts)


def entry_text(entry: Entry) -> str:
    """``entry`` in full as plain text (what the transcript view shows and search finds)."""
    if isinstance(entry, UserEntry):
        return "› " + entry.text
    if isinstance(entry, AssistantEntry):
        parts = []
        if entry.reasoning:
            parts.append("[thinking]\n" + entry.reasoning.strip() + "\n[/thinking]")
        parts.append(entry.text)
        if entry.interrupted:
            parts.append("■ interrupted")
        if entry.failed:
            parts.append("✗ this request failed; its text is not part of the conversation")
        return "\n".join(parts)
    if isinstance(entry, ToolEntry):
        head = f"● {entry.name or 'tool'} [{entry.call_id}] {tool_status(entry)}"
        parts = [head]
        args = pretty_arguments(entry.arguments)
        if args:
            parts.append(_indent(args))
        if entry.agent_calls and entry.finished:  # a task call: what its subagent did
            tokens = f" ({entry.agent_usage} tokens)" if entry.agent_usage else ""
            parts.append(f"  ── subagent's calls{tokens} ──")
            parts.append(_indent("\n".join(entry.agent_calls)))
        output = entry.output if entry.finished else entry.live
        if output.strip():
            parts.append("  ── output ──")
            parts.append(_indent(output.rstrip("\n")))
        if entry.diff:
            parts.append("  ── diff ──")
            parts.append(_indent(entry.diff.rstrip("\n")))
        return "\n".join(parts)
    if isinstance(entry, NoticeEntry):
        mark = {"error": "✗", "warning": "!"}.get(entry.level, "·")
        return f"{mark} {entry.text}"
    return ""


def search_text(entry: Entry) -> str:
    """What search looks through: the same words as :func:`entry_text`, without its
    layout (which costs more than the search itself over a long session)."""
    if isinstance(entry, UserEntry | NoticeEntry):
        return entry.text
    if isinstance(entry, AssistantEntry):
        return f"{entry.reasoning}\n{entry.text}" if entry.reasoning else entry.text
    if isinstance(entry, ToolEntry):
        output = entry.output if entry.finished else entry.live
        calls = "\n".join(entry.agent_calls)
        return "\n".join((entry.name, entry.arguments, calls, output, entry.diff))
    return ""


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.split("\n"))


@dataclass(frozen=True)
class Hit:
    """One match: the entry's index and where in its text (lowered) the match starts."""

    index: int
    offset: int


class ConversationSearch:
    """Case-insensitive search over every entry's full text."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Entry, int, str]] = {}

    def _lowered(self, entry: Entry) -> str:
        key = id(entry)
        version = _version(entry)
        cached = self._cache.get(key)
        if cached is not None and cached[0] is entry and cached[1] == version:
            return cached[2]
        text = search_text(entry).lower()
        self._cache[key] = (entry, version, text)
        return text

    def find(self, entries: Sequence[Entry], query: str, limit: int = 10_000) -> list[Hit]:
        """Every entry containing ``query``, in order (one hit per entry: its first)."""
        needle = query.lower()
        if not needle:
            return []
        hits: list[Hit] = []
        for index, entry in enumerate(entries):
            offset = self._lowered(entry).find(needle)
            if offset >= 0:
                hits.append(Hit(index, offset))
                if len(hits) >= limit:
                    break
        if len(self._cache) > 2 * len(entries) + 100:  # entries were dropped (/clear)
            alive = {id(e) for e in entries}
            self._cache = {k: v for k, v in self._cache.items() if k in alive}
        return hits


def _version(entry: Entry) -> int:
    """Changes whenever the entry's text could have (cheap: lengths and state)."""
    if isinstance(entry, AssistantEntry):
        return hash((len(entry.text), len(entry.reasoning), entry.interrupted, entry.failed))
    if isinstance(entry, ToolEntry):
        return hash((entry.state, len(entry.live), len(entry.output), len(entry.arguments)))
    if isinstance(entry, UserEntry | NoticeEntry):
        return len(entry.text)
    return 0
