"""The fact store: durable facts about the user and the project, kept across sessions.

Facts come from three places: the rule-based extractor (:mod:`hermes.memory.facts.extract`) run
over the user's own messages (never tool output), the ``FACTS:`` section of a
compaction summary, and ``hermes facts add``. Each one has a category (preference,
correction, project, environment), a scope (global, or one workspace), a confidence,
where it came from (session, message, the source sentence) and when it was first and
last seen. Facts are deduplicated on :func:`hermes.memory.facts.extract.normalize_fact` within a
scope; a correction supersedes the older facts on the same subject. The most relevant
ones go into the system prompt of new sessions (:mod:`hermes.memory.facts.recall`).

:class:`FactStore` shares the session database's connection and lock; every method
blocks, so the engine calls them from worker threads.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hermes.redact import redact
from hermes.store.sessions import Store

__all__ = [
    "CATEGORIES",
    "Fact",
    "FactStore",
    "MergeResult",
    "NewFact",
    "default_scope_is_global",
    "forget_fact",
    "list_facts",
]

Category = Literal["preference", "correction", "project", "environment"]
Origin = Literal["rules", "summary", "user"]
CATEGORIES: tuple[Category, ...] = ("preference", "correction", "project", "environment")

_COLS = (
    "id, category, content, subject, workspace, confidence, origin, source_session, "
    "source_message, source_text, first_seen, last_seen, times_seen, superseded_by"
)
_SOURCE_TEXT_MAX = 300


@dataclass(frozen=True)
class Fact:
    """One stored fact. ``workspace`` is None for a global fact."""

    id: int
    category: str
    content: str
    subject: str
    workspace: str | None
    confidence: float
    origin: str
    source_session: str | None
    source_message: int | None
    source_text: str
    first_seen: float
    last_seen: float
    times_seen: int
    superseded_by: int | None = None

    @property
    def scope(self) -> str:
        """``"global"`` or ``"workspace"``."""
        return "global" if self.workspace is None else "workspace"


@dataclass(frozen=True)
class NewFact:
    """A fact to merge into the store. ``workspace`` None means global."""

    category: Category
    content: str
    subject: str
    confidence: float
    workspace: str | None
    origin: Origin = "rules"
    source_session: str | None = None
    source_message: int | None = None
    source_text: str = ""
    source_seq: int = -1  # the message's position, for the scan watermark
    said_in: str | None = None  # the workspace of the session it came from


@dataclass(frozen=True)
class MergeResult:
    """What a merge changed: facts added, facts seen again, ids superseded."""

    added: tuple[Fact, ...] = ()
    seen_again: tuple[Fact, ...] = ()
    superseded: tuple[int, ...] = ()


def default_scope_is_global(category: str) -> bool:
    """Preferences and corrections follow the user everywhere; project and environment
    facts belong to the workspace they were learned in."""
    return category in ("preference", "correction")


def _fact(row: Sequence[Any]) -> Fact:
    values = list(row)
    values[4] = values[4] or None  # '' is global
    return Fact(*values)


class FactStore:
    """Facts in the session database (shares ``store``'s connection and lock)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # ------------------------------------------------------------------ writes

    def merge(self, facts: Sequence[NewFact], *, now: float | None = None) -> MergeResult:
        """Add new facts, count repeats, and let corrections supersede older facts.

        A fact whose normalized content is already stored in the same scope is "seen
        again" (times seen, last seen, highest confidence; a superseded one is revived).
        A correction supersedes every other active fact on the same subject that applies
        in its scope (global, or its workspace).
        """
        with self._store.write() as db:
            return self._merge(db, facts, time.time() if now is None else now)

    def _merge(self, db: Any, facts: Sequence[NewFact], now: float) -> MergeResult:
        from hermes.memory.facts.extract import (
            normalize_fact,  # its patterns stay off the start-up path
        )

        added: builtins.list[int] = []
        seen: builtins.list[int] = []
        superseded: builtins.list[int] = []
        for f in facts:
            content = redact(f.content.strip())
            norm = normalize_fact(content)
            if not norm:
                continue
            ws = f.workspace or ""
            row = db.execute(
                "SELECT id FROM facts WHERE workspace = ? AND normalized = ?", (ws, norm)
            ).fetchone()
            if row is not None:
                fid = int(row[0])
                db.execute(
                    "UPDATE facts SET times_seen = times_seen + 1, last_seen = ?, "
                    "confidence = MAX(confidence, ?), superseded_by = NULL WHERE id = ?",
                    (now, f.confidence, fid),
                )
                if fid not in added and fid not in seen:
                    seen.append(fid)
            else:
                source = redact(f.source_text.strip())[:_SOURCE_TEXT_MAX]
                subject = f.subject.strip().lower()
                row = (f.category, content, norm, subject, ws, f.confidence, f.origin)
                cur = db.execute(
                    "INSERT INTO facts (category, content, normalized, subject, workspace, "
                    "confidence, origin, source_session, source_message, source_text, "
                    "first_seen, last_seen, times_seen) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                    (*row, f.source_session, f.source_message, source, now, now),
                )
                fid = int(cur.lastrowid or 0)
                added.append(fid)
            subject = f.subject.strip().lower()
            if f.category == "correction" and subject:
                superseded.extend(self._supersede(db, fid, subject, ws, f.said_in, fid in added))
        superseded = [i for i in superseded if i not in added and i not in seen]
        return MergeResult(
            tuple(self._get_many(db, added)), tuple(self._get_many(db, seen)), tuple(superseded)
        )

    @staticmethod
    def _supersede(
        db: Any, fid: int, subject: str, ws: str, said_in: str | None, new: bool
    ) -> builtins.list[int]:
        """Mark the active facts on ``subject`` that apply where the correction was made as
        superseded by ``fid``. A new global correction of facts that all belong to one
        workspace moves to that workspace (a corrected port is not everyone's port)."""
        scopes = tuple(dict.fromkeys(("", ws, said_in or "")))
        marks = ",".join("?" * len(scopes))
        old = db.execute(
            f"SELECT id, workspace FROM facts WHERE subject = ? AND id != ? AND "
            f"superseded_by IS NULL AND workspace IN ({marks})",
            (subject, fid, *scopes),
        ).fetchall()
        homes = {str(w) for _, w in old}
        if new and not ws and len(homes) == 1 and "" not in homes:
            home = homes.pop()
            norm = db.execute("SELECT normalized FROM facts WHERE id = ?", (fid,)).fetchone()[0]
            clash = db.execute(
                "SELECT 1 FROM facts WHERE workspace = ? AND normalized = ?", (home, norm)
            ).fetchone()
            if clash is None:
                db.execute("UPDATE facts SET workspace = ? WHERE id = ?", (home, fid))
        for old_id, _ in old:
            db.execute("UPDATE facts SET superseded_by = ? WHERE id = ?", (fid, old_id))
        return [int(i) for i, _ in old]

    @staticmethod
    def _get_many(db: Any, ids: Sequence[int]) -> builtins.list[Fact]:
        out = []
        for fid in ids:
            row = db.execute(f"SELECT {_COLS} FROM facts WHERE id = ?", (fid,)).fetchone()
            if row is not None:
                out.append(_fact(row))
        return out

    def add(
        self,
        text: str,
        *,
        workspace: str,
        category: Category | None = None,
        scope: Literal["global", "workspace"] | None = None,
        now: float | None = None,
    ) -> MergeResult:
        """Remember what the user typed (``hermes facts add``).

        Without ``category`` the rule-based extractor reads ``text`` first; when it finds
        nothing, the text is kept as a preference. ``scope`` overrides the category's
        default scope.
        """
        from hermes.memory.facts.extract import extract_facts

        text = text.strip()
        if not text:
            raise ValueError("the fact is empty")
        found = extract_facts(text) if category is None else []
        pairs: builtins.list[tuple[Category, str, str]]
        if found:
            pairs = [(f.category, f.content, f.subject) for f in found]
        else:
            pairs = [(category or "preference", text, "")]

        def where(cat: Category) -> str | None:
            is_global = default_scope_is_global(cat) if scope is None else scope == "global"
            return None if is_global else workspace

        new = [
            NewFact(
                cat, content, subj, 1.0, where(cat), "user", source_text=text, said_in=workspace
            )
            for cat, content, subj in pairs
        ]
        return self.merge(new, now=now)

    def forget(self, fact_id: int) -> bool:
        """Delete one fact; False when there is no such fact."""
        with self._store.write() as db:
            cur = db.execute("DELETE FROM facts WHERE id = ?", (fact_id,))
            db.execute("UPDATE facts SET superseded_by = NULL WHERE superseded_by = ?", (fact_id,))
            return cur.rowcount > 0

    # ------------------------------------------------------------------ reads

    def get(self, fact_id: int) -> Fact | None:
        """One fact by id."""
        rows = self._store.read(f"SELECT {_COLS} FROM facts WHERE id = ?", (fact_id,))
        return _fact(rows[0]) if rows else None

    def list(
        self, *, workspace: str | None = None, include_superseded: bool = False
    ) -> builtins.list[Fact]:
        """Facts, newest first: all of them, or only those that apply in ``workspace``
        (global ones and that workspace's)."""
        where = [] if include_superseded else ["superseded_by IS NULL"]
        params: tuple[Any, ...] = ()
        if workspace is not None:
            where.append("workspace IN ('', ?)")
            params = (workspace,)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._store.read(
            f"SELECT {_COLS} FROM facts {clause} ORDER BY last_seen DESC, id DESC", params
        )
        return [_fact(r) for r in rows]

    # ------------------------------------------------------------------ extraction

    def scan_session(
        self,
        session_id: str,
        workspace: str,
        *,
        through_seq: int | None = None,
        now: float | None = None,
    ) -> MergeResult:
        """Run the rule-based extractor over the session's user messages not scanned yet
        (up to ``through_seq`` when given), merge what it finds, and move the session's
        scan mark. Repeated calls never count a message twice."""
        mark = self._scan_mark(session_id)
        upper = "" if through_seq is None else " AND seq <= ?"
        params: tuple[Any, ...] = (session_id, mark)
        if through_seq is not None:
            params = (*params, through_seq)
        rows = self._store.read(
            "SELECT id, seq, content FROM messages WHERE session_id = ? AND role = 'user' "
            f"AND synthetic = 0 AND seq > ?{upper} ORDER BY seq",
            params,
        )
        if not rows:
            return MergeResult()
        from hermes.memory.facts.extract import extract_facts

        found: builtins.list[NewFact] = []
        for mid, seq, content in rows:
            text = str(content or "")
            for ef in extract_facts(text):
                found.append(
                    NewFact(
                        category=ef.category,
                        content=ef.content,
                        subject=ef.subject,
                        confidence=ef.confidence,
                        workspace=None if default_scope_is_global(ef.category) else workspace,
                        origin="rules",
                        source_session=session_id,
                        source_message=int(mid),
                        source_text=text[ef.span[0] : ef.span[1]],
                        source_seq=int(seq),
                        said_in=workspace,
                    )
                )
        last_seq = int(rows[-1][1])
        with self._store.write() as db:
            row = db.execute(
                "SELECT through_seq FROM fact_scans WHERE session_id = ?", (session_id,)
            ).fetchone()
            current = int(row[0]) if row is not None else -1
            if current >= last_seq:
                return MergeResult()  # another scan got there first
            found = [f for f in found if f.source_seq > current]
            result = self._merge(db, found, time.time() if now is None else now)
            db.execute(
                "INSERT INTO fact_scans (session_id, through_seq) VALUES (?, ?) "
                "ON CONFLICT (session_id) DO UPDATE SET through_seq = excluded.through_seq",
                (session_id, last_seq),
            )
            return result

    def _scan_mark(self, session_id: str) -> int:
        rows = self._store.read(
            "SELECT through_seq FROM fact_scans WHERE session_id = ?", (session_id,)
        )
        return int(rows[0][0]) if rows else -1


def list_facts(store: Store, workspace: str | Path | None = None) -> builtins.list[Fact]:
    """The active facts, newest first (those that apply in ``workspace`` when given)."""
    return FactStore(store).list(workspace=None if workspace is None else str(workspace))


def forget_fact(store: Store, fact_id: int) -> bool:
    """Forget one fact (``/facts forget ID``); False when there is no such fact."""
    return FactStore(store).forget(fact_id)
