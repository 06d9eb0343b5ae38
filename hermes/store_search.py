"""Full-text search over stored messages (SQLite FTS5, table ``messages_fts``).

User queries are never passed to FTS5 as syntax: each whitespace-separated word becomes
a quoted phrase (so ``foo-bar "x`` cannot raise a syntax error), words are ANDed, and a
trailing ``*`` keeps its meaning as a prefix search.
"""

from __future__ import annotations

import re
import sqlite3

from hermes.store_types import HIT_END, HIT_START, SearchHit

_WORDY = re.compile(r"\w")


def fts_query(text: str) -> str | None:
    """The FTS5 MATCH expression for a user's query, or None when it has no words."""
    parts = []
    for word in text.split():
        prefix = word.endswith("*")
        word = word.rstrip("*")
        if not _WORDY.search(word):
            continue  # only punctuation: it tokenizes to nothing and would match nothing
        phrase = '"' + word.replace('"', '""') + '"'
        parts.append(phrase + ("*" if prefix else ""))
    return " ".join(parts) if parts else None


def search(
    db: sqlite3.Connection, query: str, *, workspace: str | None, limit: int
) -> list[SearchHit]:
    """Best matches first; only sessions of ``workspace`` when given."""
    match = fts_query(query)
    if match is None or limit <= 0:
        return []
    where = "messages_fts MATCH ?"
    params: list[object] = [HIT_START, HIT_END, match]
    if workspace is not None:
        where += " AND s.workspace = ?"
        params.append(workspace)
    params.append(limit)
    rows = db.execute(
        "SELECT m.session_id, m.seq, m.role, "
        "snippet(messages_fts, 0, ?, ?, '\u2026', 16), messages_fts.rank, s.title "
        "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
        f"JOIN sessions s ON s.id = m.session_id WHERE {where} "
        "ORDER BY messages_fts.rank LIMIT ?",
        params,
    ).fetchall()
    return [
        SearchHit(sid, seq, role, " ".join(snip.split()), rank, title)
        for sid, seq, role, snip, rank, title in rows
    ]
