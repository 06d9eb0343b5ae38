"""The SQLite session store: schema, migrations, writes and queries.

One file under ``HERMES_HOME``; WAL with ``synchronous=FULL`` so every acknowledged
write survives a crash or power loss; ``BEGIN IMMEDIATE`` for writes with a busy
timeout and a bounded retry so several hermes processes can share it. Every SQLite
failure comes out as :class:`StoreError` naming the file. Text is redacted
(:mod:`hermes.redact`) before it is written. All methods block: the engine calls them
from worker threads.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hermes.messages import Message, ToolCall
from hermes.redact import redact, redact_optional
from hermes.store.database import Database
from hermes.store.records import (
    CallState,
    ModelCallRecord,
    SearchHit,
    SessionNotFound,
    SessionRecord,
    StoredMessage,
    StoreError,
)
from hermes.store.search import search as _search

__all__ = [
    "CallState",
    "ModelCallRecord",
    "SearchHit",
    "SessionNotFound",
    "SessionRecord",
    "Store",
    "StoreError",
    "StoredMessage",
    "new_session_id",
    "open_store",
]

_SESSION_COLS = (
    "id, workspace, title, model, approval_mode, created_at, updated_at, message_count, "
    "prompt_tokens, completion_tokens"
)
_MESSAGE_COLS = (
    "id, seq, role, content, tool_calls, tool_call_id, created_at, interrupted, synthetic, folded, "
    "rewound, reasoning"
)


def _session(row: Sequence[Any]) -> SessionRecord:
    return SessionRecord(*row)


def new_session_id() -> str:
    """A short id that sorts by creation time."""
    return f"{int(time.time() * 1000):x}"[-8:] + secrets.token_hex(3)


class Store(Database):
    """A connection to the session database. Thread-safe (one lock per store)."""

    # ------------------------------------------------------------------ sessions

    def create_session(
        self, workspace: str, model: str, approval_mode: str, title: str = ""
    ) -> SessionRecord:
        """A new, empty session."""
        now = time.time()
        sid = new_session_id()
        title = redact(title)
        with self.write() as db:
            db.execute(
                "INSERT INTO sessions (id, workspace, title, model, approval_mode, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sid, workspace, title, model, approval_mode, now, now),
            )
        return SessionRecord(sid, workspace, title, model, approval_mode, now, now, 0, 0, 0)

    def get_session(self, id_or_prefix: str) -> SessionRecord:
        """Find a session by id or unique id prefix; raises SessionNotFound."""
        key = id_or_prefix.strip()
        if not key:
            raise SessionNotFound("no session id given")
        rows = self.read(
            f"SELECT {_SESSION_COLS} FROM sessions WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 6",
            (len(key), key),
        )
        exact = [r for r in rows if r[0] == key]
        if exact:
            return _session(exact[0])
        if not rows:
            raise SessionNotFound(f"no session with id {key!r} (see 'hermes sessions list')")
        if len(rows) > 1:
            ids = ", ".join(str(r[0]) for r in rows[:5])
            raise SessionNotFound(
                f"session id {key!r} is ambiguous: it starts {ids}{', ...' if len(rows) > 5 else ''}"
            )
        return _session(rows[0])

    def list_sessions(
        self, workspace: str | None = None, limit: int = 50, *, nonempty: bool = False
    ) -> list[SessionRecord]:
        """Newest first; only those of ``workspace`` when given; ``nonempty``: only
        sessions with at least one message."""
        where, params = ("", ()) if workspace is None else ("WHERE workspace = ?", (workspace,))
        if nonempty:
            where = f"{where} AND message_count > 0" if where else "WHERE message_count > 0"
        # A subagent's session is shown inside its parent's (hermes.store.children).
        where = f"{where} AND" if where else "WHERE"
        where += " parent_session_id IS NULL"
        rows = self.read(
            f"SELECT {_SESSION_COLS} FROM sessions {where} "
            "ORDER BY updated_at DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [_session(r) for r in rows]

    def update_session(self, session_id: str, **fields: str) -> None:
        """Set ``title``, ``model``, ``approval_mode`` or ``workspace``."""
        allowed = {"title", "model", "approval_mode", "workspace"}
        cols = [k for k in fields if k in allowed]
        if not cols:
            return
        values = [redact(fields[c]) if c == "title" else fields[c] for c in cols]
        sets = ", ".join(f"{c} = ?" for c in cols)
        with self.write() as db:
            db.execute(
                f"UPDATE sessions SET {sets}, updated_at = ? WHERE id = ?",
                (*values, time.time(), session_id),
            )

    def delete_session(self, session_id: str) -> None:
        """Remove a session and everything recorded for it (its subagents' sessions too)."""
        with self.write() as db:
            tree = db.execute(
                "WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT s.id FROM sessions s "
                "JOIN tree t ON s.parent_session_id = t.id) SELECT id FROM tree",
                (session_id,),
            ).fetchall()
            for (sid,) in tree:
                for table in ("messages", "tool_calls", "model_calls", "drafts"):
                    db.execute(f"DELETE FROM {table} WHERE session_id = ?", (sid,))
                db.execute("DELETE FROM sessions WHERE id = ?", (sid,))

    # ------------------------------------------------------------------ messages

    def append_message(
        self,
        session_id: str,
        message: Message,
        *,
        interrupted: bool = False,
        synthetic: bool = False,
        calls_status: str = "requested",
        reasoning: str = "",
        diff: str = "",
        exit_code: int | None = None,
        duration: float | None = None,
    ) -> StoredMessage:
        """Commit one message (and, for an assistant message, its calls) durably.

        Content and call arguments are stored redacted; the returned record carries the
        message as given. An assistant message also discards the reply draft and keeps
        its ``reasoning``; a tool result records its call's ``diff``, ``exit_code`` and
        ``duration`` (what a resumed session shows again).
        """
        with self.write() as db:
            return self._insert(
                db,
                session_id,
                message,
                interrupted,
                synthetic,
                calls_status,
                reasoning=reasoning,
                result=(diff, exit_code, duration),
            )

    def _insert(
        self,
        db: sqlite3.Connection,
        session_id: str,
        message: Message,
        interrupted: bool,
        synthetic: bool,
        calls_status: str,
        *,
        reasoning: str = "",
        result: tuple[str, int | None, float | None] = ("", None, None),
    ) -> StoredMessage:
        now = time.time()
        calls = [
            ToolCall(c.id, c.name, redact(c.arguments)).to_openai() for c in message.tool_calls
        ]
        row = db.execute(
            "SELECT message_count FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            raise SessionNotFound(f"no session with id {session_id!r}")
        seq = row[0]
        cur = db.execute(
            "INSERT INTO messages (session_id, seq, role, content, tool_calls, tool_call_id, "
            "created_at, interrupted, synthetic, reasoning) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                seq,
                message.role,
                redact_optional(message.content),
                json.dumps(calls, ensure_ascii=False) if calls else None,
                message.tool_call_id,
                now,
                int(interrupted),
                int(synthetic),
                redact(reasoning) if reasoning else None,
            ),
        )
        msg_id = cur.lastrowid or 0
        for call in calls:
            fn = call["function"]
            db.execute(
                "INSERT OR REPLACE INTO tool_calls (session_id, call_id, message_id, name, "
                "arguments, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, call["id"], msg_id, fn["name"], fn["arguments"], calls_status, now),
            )
        if message.role == "tool" and message.tool_call_id is not None:
            diff, exit_code, duration = result
            db.execute(
                "UPDATE tool_calls SET status = CASE WHEN status IN ('requested', "
                "'pending_approval', 'running') THEN 'done' ELSE status END, updated_at = ?, "
                "diff = ?, exit_code = ?, duration = ? WHERE session_id = ? AND call_id = ?",
                (now, redact(diff), exit_code, duration, session_id, message.tool_call_id),
            )
        if message.role == "assistant":
            db.execute("DELETE FROM drafts WHERE session_id = ?", (session_id,))
        db.execute(
            "UPDATE sessions SET message_count = message_count + 1, updated_at = ? WHERE id = ?",
            (now, session_id),
        )
        return StoredMessage(msg_id, seq, message, now, interrupted, synthetic, reasoning=reasoning)

    def load_messages(self, session_id: str) -> list[StoredMessage]:
        """The full transcript in order."""
        rows = self.read(
            f"SELECT {_MESSAGE_COLS} FROM messages WHERE session_id = ? ORDER BY seq",
            (session_id,),
        )
        out: list[StoredMessage] = []
        append, loads, none = out.append, json.loads, ()  # a hot loop on resume
        for mid, seq, role, content, calls, tcid, created, *flags, why in rows:
            intr, synth, folded, rewound = flags
            tool_calls: tuple[ToolCall, ...] = none
            if calls:
                tool_calls = tuple(
                    ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"])
                    for c in loads(calls)
                )
            msg = Message(role, content, tool_calls, tcid)
            append(
                StoredMessage(
                    mid,
                    seq,
                    msg,
                    created,
                    intr == 1,
                    synth == 1,
                    folded == 1,
                    rewound == 1,
                    why or "",
                )
            )
        return out

    # ------------------------------------------------------------------ drafts

    def save_draft(self, session_id: str, content: str) -> None:
        """Keep the text streamed so far of the reply being received (replaces the last).

        The draft remembers how many messages the session had, so it is only recovered
        if nothing was committed after it; committing any assistant message drops it.
        """
        with self.write() as db:
            # REPLACE deletes the old row, and with it (cascade) any appended parts.
            db.execute(
                "INSERT OR REPLACE INTO drafts (session_id, base_count, content, updated_at) "
                "SELECT id, message_count, ?, ? FROM sessions WHERE id = ?",
                (redact(content), time.time(), session_id),
            )

    def append_draft(self, session_id: str, done: str, tail: str, *, restart: bool = False) -> None:
        """Grow the reply draft without rewriting it: ``done`` (text that will not change,
        whole lines) is added as a new part, ``tail`` (the unfinished end) replaces the
        previous tail. ``restart`` first drops what was saved (a new or retried request).

        Each piece is redacted on its own; cutting ``done`` at line ends (outside a
        private key block) keeps every secret format within one piece.
        """
        now = time.time()
        with self.write() as db:
            if restart:
                db.execute("DELETE FROM drafts WHERE session_id = ?", (session_id,))
            db.execute(
                "INSERT OR IGNORE INTO drafts (session_id, base_count, content, updated_at) "
                "SELECT id, message_count, '', ? FROM sessions WHERE id = ?",
                (now, session_id),
            )
            if done:
                db.execute(
                    "INSERT INTO draft_parts (session_id, part, content) "
                    "SELECT ?, COALESCE(MAX(part), 0) + 1, ? FROM draft_parts "
                    "WHERE session_id = ?",
                    (session_id, redact(done), session_id),
                )
            db.execute(
                "UPDATE drafts SET content = ?, updated_at = ? WHERE session_id = ?",
                (redact(tail), now, session_id),
            )

    @staticmethod
    def _draft_text(db: Any, session_id: str, tail: str) -> str:
        parts = db.execute(
            "SELECT content FROM draft_parts WHERE session_id = ? ORDER BY part", (session_id,)
        ).fetchall()
        return "".join(p[0] for p in parts) + tail

    def draft(self, session_id: str) -> str | None:
        """The saved text of the reply being streamed, or None when there is no draft."""
        tail = self.read("SELECT content FROM drafts WHERE session_id = ?", (session_id,))
        if not tail:
            return None
        parts = self.read(
            "SELECT content FROM draft_parts WHERE session_id = ? ORDER BY part", (session_id,)
        )
        return "".join(p[0] for p in parts) + tail[0][0]

    def discard_draft(self, session_id: str) -> None:
        """Drop the reply draft (the stream failed and its text is not kept)."""
        with self.write() as db:
            db.execute("DELETE FROM drafts WHERE session_id = ?", (session_id,))

    def recover_draft(self, session_id: str) -> StoredMessage | None:
        """Commit a reply cut off by a crash as an interrupted assistant message.

        A draft counts only if nothing was committed after its stream began; either way
        it is gone afterwards.
        """
        if not self.read("SELECT 1 FROM drafts WHERE session_id = ?", (session_id,)):
            return None  # the usual case: no write transaction at all
        with self.write() as db:
            row = db.execute(
                "SELECT d.base_count, d.content, s.message_count FROM drafts d "
                "JOIN sessions s ON s.id = d.session_id WHERE d.session_id = ?",
                (session_id,),
            ).fetchone()
            if row is None:
                return None
            base, tail, count = row
            content = self._draft_text(db, session_id, tail)
            db.execute("DELETE FROM drafts WHERE session_id = ?", (session_id,))
            if base != count or not content.strip():
                return None
            message = Message(role="assistant", content=content)
            return self._insert(db, session_id, message, True, False, "requested")

    # ------------------------------------------------------------------ tool calls

    def set_call_status(self, session_id: str, call_id: str, status: str, reason: str = "") -> None:
        """Record where a call is in its lifecycle."""
        with self.write() as db:
            db.execute(
                "UPDATE tool_calls SET status = ?, reason = ?, updated_at = ? "
                "WHERE session_id = ? AND call_id = ?",
                (status, redact(reason), time.time(), session_id, call_id),
            )

    def claim_call(
        self, session_id: str, call_id: str, owner: str, status: str = "running"
    ) -> CallState | None:
        """Take a call that has not started (``requested`` or ``pending_approval``) for
        ``owner``, atomically: of any number of processes claiming it, exactly one gets
        None back and may run it (or record its decision: ``status`` ``denied``, ...).
        The others get the call as it is instead (its status, and for a running call
        its owner, which the claim keeps in ``reason``). A call with no recorded row is
        nobody else's and counts as claimed."""
        with self.write() as db:
            cur = db.execute(
                "UPDATE tool_calls SET status = ?, reason = ?, updated_at = ? "
                "WHERE session_id = ? AND call_id = ? AND status IN ('requested', 'pending_approval')",
                (status, owner, time.time(), session_id, call_id),
            )
            if cur.rowcount == 1:
                return None
            row = db.execute(
                "SELECT call_id, name, arguments, status, reason FROM tool_calls "
                "WHERE session_id = ? AND call_id = ?",
                (session_id, call_id),
            ).fetchone()
        return None if row is None else CallState(*row)

    def await_approval(self, session_id: str, call_id: str, reason: str) -> bool:
        """Mark a call that has not started as waiting for approval; False (nothing
        changed) when it already started or ended, e.g. another process claimed it."""
        with self.write() as db:
            cur = db.execute(
                "UPDATE tool_calls SET status = 'pending_approval', reason = ?, updated_at = ? "
                "WHERE session_id = ? AND call_id = ? AND status IN ('requested', 'pending_approval')",
                (redact(reason), time.time(), session_id, call_id),
            )
            if cur.rowcount == 1:
                return True
            row = db.execute(
                "SELECT 1 FROM tool_calls WHERE session_id = ? AND call_id = ?",
                (session_id, call_id),
            ).fetchone()
        return row is None

    def call_states(self, session_id: str) -> dict[str, CallState]:
        """Every recorded call of the session by call id."""
        rows = self.read(
            "SELECT call_id, name, arguments, status, reason, diff, exit_code, duration "
            "FROM tool_calls WHERE session_id = ?",
            (session_id,),
        )
        return {str(r[0]): CallState(*r) for r in rows}

    # ------------------------------------------------------------------ audit

    def record_model_call(self, session_id: str, rec: ModelCallRecord) -> None:
        """Record one model request (response and error redacted) and add its tokens."""
        with self.write() as db:
            db.execute(
                "INSERT INTO model_calls (session_id, created_at, model, request_bytes, "
                "message_count, latency_ms, retries, prompt_tokens, completion_tokens, "
                "finish_reason, error, response, usage_estimated, cost) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    rec.created_at or time.time(),
                    rec.model,
                    rec.request_bytes,
                    rec.message_count,
                    rec.latency_ms,
                    rec.retries,
                    rec.prompt_tokens,
                    rec.completion_tokens,
                    rec.finish_reason,
                    redact(rec.error),
                    redact(rec.response),
                    int(rec.usage_estimated),
                    rec.cost,
                ),
            )
            if rec.prompt_tokens or rec.completion_tokens:
                db.execute(
                    "UPDATE sessions SET prompt_tokens = prompt_tokens + ?, "
                    "completion_tokens = completion_tokens + ? WHERE id = ?",
                    (rec.prompt_tokens, rec.completion_tokens, session_id),
                )

    def model_calls(self, session_id: str) -> list[ModelCallRecord]:
        """The session's model requests, oldest first."""
        rows = self.read(
            "SELECT model, request_bytes, message_count, latency_ms, retries, prompt_tokens, "
            "completion_tokens, finish_reason, error, response, created_at, usage_estimated, "
            "cost FROM model_calls WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [
            replace(ModelCallRecord(*r[:-2]), usage_estimated=bool(r[-2]), cost=r[-1]) for r in rows
        ]

    def usage_summary(self, session_id: str) -> tuple[int, int, float | None]:
        """``(prompt, completion, cost)``: the tokens of the session's latest request that
        reported usage (what its context held) and the cost the endpoint reported for
        the whole session (None when it never reported one)."""
        last = self.read(
            "SELECT prompt_tokens, completion_tokens FROM model_calls WHERE session_id = ? "
            "AND prompt_tokens > 0 ORDER BY id DESC LIMIT 1",
            (session_id,),
        )
        cost = self.read("SELECT SUM(cost) FROM model_calls WHERE session_id = ?", (session_id,))
        prompt, completion = (int(last[0][0]), int(last[0][1])) if last else (0, 0)
        total = cost[0][0] if cost else None
        return prompt, completion, None if total is None else float(total)

    # ------------------------------------------------------------------ search

    # ------------------------------------------------------------------ grants

    def add_grants(self, session_id: str, rules: Sequence[str]) -> None:
        """Record "always" grants of a session (idempotent)."""
        now = time.time()
        with self.write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO session_grants (session_id, rule, created_at) "
                "VALUES (?, ?, ?)",
                [(session_id, rule, now) for rule in rules],
            )

    def session_grants(self, session_id: str) -> list[str]:
        """A session's grants, oldest first."""
        rows = self.read(
            "SELECT rule FROM session_grants WHERE session_id = ? ORDER BY created_at, rule",
            (session_id,),
        )
        return [r[0] for r in rows]

    def revoke_grant(self, session_id: str, rule: str) -> bool:
        """Remove one grant; False when the session had no such grant."""
        with self.write() as db:
            cur = db.execute(
                "DELETE FROM session_grants WHERE session_id = ? AND rule = ?", (session_id, rule)
            )
        return cur.rowcount > 0

    def search(
        self, query: str, *, workspace: str | None = None, limit: int = 50
    ) -> list[SearchHit]:
        """Full-text search over message text and tool output, best match first.

        ``query`` is plain words (ANDed; ``word*`` for a prefix); FTS5 syntax in it is
        taken literally, so any input is safe.
        """
        with self.reading() as db:
            try:
                return self._retry(lambda: _search(db, query, workspace=workspace, limit=limit))
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: search failed: {exc}") from exc


def open_store(path: Path | None = None) -> Store:
    """Open (creating if needed) the database at ``path`` or ``$HERMES_HOME/hermes.db``."""
    from hermes.paths import database_path

    return Store(path or database_path())
