"""The SQLite session store: schema, migrations, writes and queries.

One file under ``HERMES_HOME``; WAL with ``synchronous=FULL`` so every acknowledged
write survives a crash or power loss; ``BEGIN IMMEDIATE`` for writes with a busy
timeout so several hermes processes can share it. All methods block: the engine calls
them from worker threads.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hermes.messages import Message, ToolCall
from hermes.store_schema import MIGRATIONS, SCHEMA_VERSION


class StoreError(Exception):
    """The database cannot be used; the message names the file and what to do."""


class SessionNotFound(StoreError):
    pass


@dataclass(frozen=True)
class SessionRecord:
    id: str
    workspace: str
    title: str
    model: str
    approval_mode: str
    created_at: float
    updated_at: float
    message_count: int
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class StoredMessage:
    id: int
    seq: int
    message: Message
    created_at: float
    interrupted: bool = False
    synthetic: bool = False
    folded: bool = False


@dataclass(frozen=True)
class CallState:
    """The lifecycle of one tool call, kept so resume knows what was pending."""

    call_id: str
    name: str
    arguments: str
    status: str  # requested | pending_approval | running | done | failed | denied | cancelled
    reason: str = ""


@dataclass(frozen=True)
class ModelCallRecord:
    model: str
    request_bytes: int
    message_count: int
    latency_ms: float
    retries: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    error: str = ""
    response: str = ""


_SESSION_COLS = (
    "id, workspace, title, model, approval_mode, created_at, updated_at, message_count, "
    "prompt_tokens, completion_tokens"
)


def _session(row: sqlite3.Row | tuple[object, ...]) -> SessionRecord:
    return SessionRecord(*row)


def new_session_id() -> str:
    """A short id that sorts by creation time."""
    return f"{int(time.time() * 1000):x}"[-8:] + secrets.token_hex(3)


class Store:
    """A connection to the session database. Thread-safe (one lock per store)."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path),
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            self._db.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path}: cannot open the session database ({exc}). The file was left as it "
                "is; run `hermes doctor`, or move it aside to start a fresh one."
            ) from exc
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the session database: {exc}") from exc

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction; retried while another process holds the lock."""
        with self._lock:
            delay = 0.01
            for attempt in range(50):
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 49:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            row = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: this database was written by a newer hermes (schema "
                    f"{current}, this hermes knows {SCHEMA_VERSION}). Upgrade hermes; the "
                    "file was not touched."
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                with self._write() as db:
                    for statement in MIGRATIONS[version]:
                        db.execute(statement)
                    db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    # ------------------------------------------------------------------ sessions

    def create_session(
        self, workspace: str, model: str, approval_mode: str, title: str = ""
    ) -> SessionRecord:
        now = time.time()
        sid = new_session_id()
        with self._write() as db:
            db.execute(
                "INSERT INTO sessions (id, workspace, title, model, approval_mode, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sid, workspace, title, model, approval_mode, now, now),
            )
        return SessionRecord(sid, workspace, title, model, approval_mode, now, now, 0, 0, 0)

    def get_session(self, id_or_prefix: str) -> SessionRecord:
        """Find a session by id or unique id prefix; raises SessionNotFound."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_SESSION_COLS} FROM sessions WHERE id LIKE ? ORDER BY id LIMIT 6",
                (id_or_prefix.replace("%", "").replace("_", "") + "%",),
            ).fetchall()
        exact = [r for r in rows if r[0] == id_or_prefix]
        if exact:
            return _session(exact[0])
        if not rows or not id_or_prefix:
            raise SessionNotFound(f"no session with id {id_or_prefix!r}")
        if len(rows) > 1:
            ids = ", ".join(r[0] for r in rows[:5])
            raise SessionNotFound(f"session id {id_or_prefix!r} is ambiguous: {ids}")
        return _session(rows[0])

    def list_sessions(self, workspace: str | None = None, limit: int = 50) -> list[SessionRecord]:
        """Newest first; only those of ``workspace`` when given."""
        with self._lock:
            if workspace is None:
                rows = self._db.execute(
                    f"SELECT {_SESSION_COLS} FROM sessions ORDER BY updated_at DESC, id DESC "
                    "LIMIT ?",
                    (limit,),
                ).fetchall()
            else:
                rows = self._db.execute(
                    f"SELECT {_SESSION_COLS} FROM sessions WHERE workspace = ? "
                    "ORDER BY updated_at DESC, id DESC LIMIT ?",
                    (workspace, limit),
                ).fetchall()
        return [_session(r) for r in rows]

    def update_session(self, session_id: str, **fields: str) -> None:
        allowed = {"title", "model", "approval_mode", "workspace"}
        cols = [k for k in fields if k in allowed]
        if not cols:
            return
        sets = ", ".join(f"{c} = ?" for c in cols)
        with self._write() as db:
            db.execute(
                f"UPDATE sessions SET {sets}, updated_at = ? WHERE id = ?",
                (*[fields[c] for c in cols], time.time(), session_id),
            )

    def delete_session(self, session_id: str) -> None:
        with self._write() as db:
            for table in ("messages", "tool_calls", "model_calls"):
                db.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # ------------------------------------------------------------------ messages

    def append_message(
        self,
        session_id: str,
        message: Message,
        *,
        interrupted: bool = False,
        synthetic: bool = False,
        calls_status: str = "requested",
    ) -> StoredMessage:
        """Commit one message (and, for an assistant message, its calls) durably."""
        now = time.time()
        calls_json = (
            json.dumps([c.to_openai() for c in message.tool_calls], ensure_ascii=False)
            if message.tool_calls
            else None
        )
        with self._write() as db:
            row = db.execute(
                "SELECT message_count FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                raise SessionNotFound(f"no session with id {session_id!r}")
            seq = row[0]
            cur = db.execute(
                "INSERT INTO messages (session_id, seq, role, content, tool_calls, tool_call_id, "
                "created_at, interrupted, synthetic) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    seq,
                    message.role,
                    message.content,
                    calls_json,
                    message.tool_call_id,
                    now,
                    int(interrupted),
                    int(synthetic),
                ),
            )
            msg_id = cur.lastrowid or 0
            for call in message.tool_calls:
                db.execute(
                    "INSERT OR REPLACE INTO tool_calls (session_id, call_id, message_id, name, "
                    "arguments, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (session_id, call.id, msg_id, call.name, call.arguments, calls_status, now),
                )
            if message.role == "tool" and message.tool_call_id is not None:
                db.execute(
                    "UPDATE tool_calls SET status = CASE WHEN status IN ('requested', "
                    "'pending_approval', 'running') THEN 'done' ELSE status END, updated_at = ? "
                    "WHERE session_id = ? AND call_id = ?",
                    (now, session_id, message.tool_call_id),
                )
            db.execute(
                "UPDATE sessions SET message_count = message_count + 1, updated_at = ? "
                "WHERE id = ?",
                (now, session_id),
            )
        return StoredMessage(msg_id, seq, message, now, interrupted, synthetic)

    def load_messages(self, session_id: str) -> list[StoredMessage]:
        """The full transcript in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, seq, role, content, tool_calls, tool_call_id, created_at, "
                "interrupted, synthetic, folded FROM messages WHERE session_id = ? ORDER BY seq",
                (session_id,),
            ).fetchall()
        out = []
        for mid, seq, role, content, calls, tcid, created, intr, synth, folded in rows:
            tool_calls: tuple[ToolCall, ...] = ()
            if calls:
                tool_calls = tuple(
                    ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"])
                    for c in json.loads(calls)
                )
            msg = Message(role=role, content=content, tool_calls=tool_calls, tool_call_id=tcid)
            out.append(StoredMessage(mid, seq, msg, created, bool(intr), bool(synth), bool(folded)))
        return out

    # ------------------------------------------------------------------ tool calls

    def set_call_status(self, session_id: str, call_id: str, status: str, reason: str = "") -> None:
        with self._write() as db:
            db.execute(
                "UPDATE tool_calls SET status = ?, reason = ?, updated_at = ? "
                "WHERE session_id = ? AND call_id = ?",
                (status, reason, time.time(), session_id, call_id),
            )

    def call_states(self, session_id: str) -> dict[str, CallState]:
        with self._lock:
            rows = self._db.execute(
                "SELECT call_id, name, arguments, status, reason FROM tool_calls "
                "WHERE session_id = ?",
                (session_id,),
            ).fetchall()
        return {r[0]: CallState(*r) for r in rows}

    # ------------------------------------------------------------------ audit

    def record_model_call(self, session_id: str, rec: ModelCallRecord) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO model_calls (session_id, created_at, model, request_bytes, "
                "message_count, latency_ms, retries, prompt_tokens, completion_tokens, "
                "finish_reason, error, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    time.time(),
                    rec.model,
                    rec.request_bytes,
                    rec.message_count,
                    rec.latency_ms,
                    rec.retries,
                    rec.prompt_tokens,
                    rec.completion_tokens,
                    rec.finish_reason,
                    rec.error,
                    rec.response,
                ),
            )
            if rec.prompt_tokens or rec.completion_tokens:
                db.execute(
                    "UPDATE sessions SET prompt_tokens = prompt_tokens + ?, "
                    "completion_tokens = completion_tokens + ? WHERE id = ?",
                    (rec.prompt_tokens, rec.completion_tokens, session_id),
                )

    def model_calls(self, session_id: str) -> list[ModelCallRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT model, request_bytes, message_count, latency_ms, retries, prompt_tokens, "
                "completion_tokens, finish_reason, error, response FROM model_calls "
                "WHERE session_id = ? ORDER BY id",
                (session_id,),
            ).fetchall()
        return [ModelCallRecord(*r) for r in rows]


def open_store(path: Path | None = None) -> Store:
    """Open (creating if needed) the database at ``path`` or ``$HERMES_HOME/hermes.db``."""
    from hermes.paths import database_path

    return Store(path or database_path())


def messages_only(stored: Sequence[StoredMessage]) -> list[Message]:
    return [s.message for s in stored]
