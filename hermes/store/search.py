"""Full-text search over stored messages (SQLite FTS5, table ``messages_fts``).

User queries are never passed to FTS5 as syntax: each whitespace-separated word becomes
a quoted phrase (so ``foo-bar "x`` cannot raise a syntax error), words are ANDed, and a
trailing ``*`` keeps its meaning as a prefix search.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata

from hermes.store.records import HIT_END, HIT_START, SearchHit

_WORDY = re.compile(r"\w")
_TOKEN = re.compile(r"[^\W_]+")  # letters and digits, as the unicode61 tokenizer sees words
SNIPPET_WORDS = 16

CANDIDATES = 2000
"""How many of the most recent matches are ranked (see :func:`search`)."""


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
    """Best matches first; only sessions of ``workspace`` when given.

    Ranking (bm25) runs over the :data:`CANDIDATES` most recent matches, so a word found
    in most messages costs the same as a rare one; below that many matches (the usual
    case) the ranking is exact. Snippets are made (in Python) only for the hits returned.
    """
    match = fts_query(query)
    if match is None or limit <= 0:
        return []
    scope, params = "", [match]
    if workspace is not None:
        scope = (
            "AND messages_fts.rowid IN (SELECT m.id FROM messages m JOIN sessions s "
            "ON s.id = m.session_id WHERE s.workspace = ?)"
        )
        params.append(workspace)
    ranked = db.execute(
        "SELECT id, r FROM (SELECT messages_fts.rowid AS id, bm25(messages_fts) AS r "
        f"FROM messages_fts WHERE messages_fts MATCH ? {scope} "
        "ORDER BY messages_fts.rowid DESC LIMIT ?) ORDER BY r, id DESC LIMIT ?",
        (*params, CANDIDATES, limit),
    ).fetchall()
    if not ranked:
        return []
    marks = ", ".join("?" for _ in ranked)
    rows = db.execute(
        "SELECT m.id, m.session_id, m.seq, m.role, m.content, s.title FROM messages m "
        f"JOIN sessions s ON s.id = m.session_id WHERE m.id IN ({marks})",
        [r[0] for r in ranked],
    ).fetchall()
    found = {row[0]: row for row in rows}
    terms = query_terms(query)
    hits = []
    for rowid, rank in ranked:
        row = found.get(rowid)
        if row is not None:
            _, sid, seq, role, content, title = row
            hits.append(SearchHit(sid, seq, role, snippet(content or "", terms), rank, title))
    return hits


def _fold(word: str) -> str:
    """Case- and accent-insensitive form, like the ``unicode61 remove_diacritics`` tokenizer."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def query_terms(query: str) -> list[tuple[str, bool]]:
    """The folded tokens of a query, each with whether it is a prefix (``word*``)."""
    terms = []
    for word in query.split():
        tokens = _TOKEN.findall(word)
        for k, token in enumerate(tokens):
            terms.append((_fold(token), word.endswith("*") and k == len(tokens) - 1))
    return terms


def snippet(content: str, terms: list[tuple[str, bool]], width: int = SNIPPET_WORDS) -> str:
    """About ``width`` words of ``content`` around its first match, matches marked, on one
    line (the text the FTS index matched, found again without a second FTS query)."""

    def hit(token: str) -> bool:
        folded = _fold(token)
        return any(folded.startswith(t) if prefix else folded == t for t, prefix in terms)

    before: list[re.Match[str]] = []
    window: list[re.Match[str]] = []
    marked: set[int] = set()
    more = False
    for m in _TOKEN.finditer(content):
        if window:
            if len(window) >= width:
                more = True
                break
            window.append(m)
        elif hit(m.group()):
            window = [*before[-(width // 4) :], m]
        else:
            before.append(m)
            if len(before) > width:
                del before[: len(before) - width]
        if window and hit(m.group()):
            marked.add(m.start())
    if not window:
        window = before[:width] if before else []
        more = more or len(before) > width
    if not window:
        return " ".join(content.split())[:200]
    out: list[str] = []
    pos = window[0].start()
    for m in window:
        out.append(content[pos : m.start()])
        if m.start() in marked:
            out.append(f"{HIT_START}{m.group()}{HIT_END}")
        else:
            out.append(m.group())
        pos = m.end()
    lead = "\u2026" if window[0].start() > 0 and content[: window[0].start()].strip() else ""
    tail = "\u2026" if more else content[pos:].rstrip()
    return " ".join((lead + "".join(out) + tail).split())
