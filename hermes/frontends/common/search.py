"""Searching the conversation, and every entry as plain text (no textual here).

:func:`entry_text` is an entry as plain text with nothing left out: a call's full
arguments and output, a reply's reasoning. The transcript view (Ctrl+T) shows it; the
search (Ctrl+F) looks through it, case-insensitively, over the whole session, not only
what is on screen. Lowered texts are cached per entry, so searching a 10,000-message
session again costs a scan, not a rebuild. :meth:`ConversationSearch.find_soon` is the
same search for an event loop: it gives the loop a turn every few hundred entries, so
keys typed meanwhile are handled and a search for a query typed over can be dropped.
"""

from __future__ import annotations

import asyncio
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


SEARCH_CHUNK = 500
"""Entries searched between two turns of the event loop (well under a millisecond)."""


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
        hits: list[Hit] = []
        if query:
            self._scan(entries, query.lower(), 0, len(entries), hits, limit)
            self._prune(entries)
        return hits

    async def find_soon(
        self, entries: Sequence[Entry], query: str, limit: int = 10_000
    ) -> list[Hit]:
        """:meth:`find`, giving the event loop a turn every :data:`SEARCH_CHUNK` entries
        (cancel it when the query changes). ``entries`` is read as it was at the call."""
        hits: list[Hit] = []
        if not query:
            return hits
        entries = list(entries)
        needle = query.lower()
        for start in range(0, len(entries), SEARCH_CHUNK):
            if start:
                await asyncio.sleep(0)
            if self._scan(entries, needle, start, start + SEARCH_CHUNK, hits, limit):
                break
        self._prune(entries)
        return hits

    async def prepare(self, entries: Sequence[Entry]) -> None:
        """Lower every entry's text ahead of the first search (the search bar opened),
        giving the event loop a turn every :data:`SEARCH_CHUNK` entries."""
        entries = list(entries)
        for start in range(0, len(entries), SEARCH_CHUNK):
            await asyncio.sleep(0)
            for entry in entries[start : start + SEARCH_CHUNK]:
                self._lowered(entry)

    def _scan(
        self,
        entries: Sequence[Entry],
        needle: str,
        start: int,
        end: int,
        hits: list[Hit],
        limit: int,
    ) -> bool:
        """Add the hits among ``entries[start:end]``; whether ``limit`` was reached."""
        for index in range(start, min(end, len(entries))):
            offset = self._lowered(entries[index]).find(needle)
            if offset >= 0:
                hits.append(Hit(index, offset))
                if len(hits) >= limit:
                    return True
        return False

    def _prune(self, entries: Sequence[Entry]) -> None:
        if len(self._cache) > 2 * len(entries) + 100:  # entries were dropped (/clear)
            alive = {id(e) for e in entries}
            self._cache = {k: v for k, v in self._cache.items() if k in alive}


def _version(entry: Entry) -> int:
    """Changes whenever the entry's text could have (cheap: lengths and state)."""
    if isinstance(entry, AssistantEntry):
        return hash((len(entry.text), len(entry.reasoning), entry.interrupted, entry.failed))
    if isinstance(entry, ToolEntry):
        return hash((entry.state, len(entry.live), len(entry.output), len(entry.arguments)))
    if isinstance(entry, UserEntry | NoticeEntry):
        return len(entry.text)
    return 0
