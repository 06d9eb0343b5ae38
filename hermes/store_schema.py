"""Numbered schema migrations for the session database. Append; never edit a shipped one."""

from __future__ import annotations

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            workspace TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            approval_mode TEXT NOT NULL DEFAULT 'ask',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            message_count INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX sessions_by_workspace ON sessions (workspace, updated_at)",
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT,
            tool_calls TEXT,
            tool_call_id TEXT,
            created_at REAL NOT NULL,
            interrupted INTEGER NOT NULL DEFAULT 0,
            synthetic INTEGER NOT NULL DEFAULT 0,
            folded INTEGER NOT NULL DEFAULT 0,
            UNIQUE (session_id, seq)
        )""",
        """CREATE TABLE tool_calls (
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            call_id TEXT NOT NULL,
            message_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            arguments TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            updated_at REAL NOT NULL,
            PRIMARY KEY (session_id, call_id)
        )""",
        """CREATE TABLE model_calls (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            model TEXT NOT NULL,
            request_bytes INTEGER NOT NULL,
            message_count INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            retries INTEGER NOT NULL,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            finish_reason TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            response TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX model_calls_by_session ON model_calls (session_id, id)",
    ),
    # 2: full-text search over message content (tool outputs included), kept in sync by
    # triggers; and the draft of a reply being streamed, so kill -9 keeps partial answers.
    2: (
        "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
        "INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages "
        "WHERE content IS NOT NULL",
        """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
            WHEN new.content IS NOT NULL BEGIN
            INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
        END""",
        """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
            WHEN old.content IS NOT NULL BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
        END""",
        """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, content)
                SELECT 'delete', old.id, old.content WHERE old.content IS NOT NULL;
            INSERT INTO messages_fts (rowid, content)
                SELECT new.id, new.content WHERE new.content IS NOT NULL;
        END""",
        """CREATE TABLE drafts (
            session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
            base_count INTEGER NOT NULL,
            content TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
    ),
}

SCHEMA_VERSION = max(MIGRATIONS)
