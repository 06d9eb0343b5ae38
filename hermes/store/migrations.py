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
    # 3: compaction records (resume rebuilds the compacted view from the latest summary
    # plus the messages not folded) and the fact store (hermes.memory.facts.store).
    3: (
        """CREATE TABLE compactions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '',
            folded_through_seq INTEGER NOT NULL,
            turns_folded INTEGER NOT NULL DEFAULT 0,
            total_folded INTEGER NOT NULL DEFAULT 0,
            tokens_before INTEGER NOT NULL DEFAULT 0,
            tokens_after INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX compactions_by_session ON compactions (session_id, id)",
        """CREATE TABLE facts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            category TEXT NOT NULL,
            content TEXT NOT NULL,
            normalized TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '',
            workspace TEXT NOT NULL DEFAULT '',
            confidence REAL NOT NULL,
            origin TEXT NOT NULL DEFAULT 'rules',
            source_session TEXT REFERENCES sessions (id) ON DELETE SET NULL,
            source_message INTEGER REFERENCES messages (id) ON DELETE SET NULL,
            source_text TEXT NOT NULL DEFAULT '',
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            times_seen INTEGER NOT NULL DEFAULT 1,
            superseded_by INTEGER
        )""",
        "CREATE UNIQUE INDEX facts_by_content ON facts (workspace, normalized)",
        "CREATE INDEX facts_by_subject ON facts (subject)",
        """CREATE TABLE fact_scans (
            session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
            through_seq INTEGER NOT NULL
        )""",
    ),
    # 4: checkpoints (hermes.engine.checkpoint_hooks): the turns of a session, the workspace states
    # recorded for /undo and /rewind (commits in the shadow repository), and messages
    # cut from the model's view by a rewind (kept, marked).
    4: (
        """CREATE TABLE session_turns (
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            turn INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            prompt TEXT NOT NULL,
            created_at REAL NOT NULL,
            undone INTEGER NOT NULL DEFAULT 0,
            rewound INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (session_id, turn)
        )""",
        """CREATE TABLE checkpoints (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            turn INTEGER NOT NULL,
            call_id TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL,
            commit_sha TEXT NOT NULL,
            paths TEXT,
            skipped TEXT NOT NULL DEFAULT '[]',
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX checkpoints_by_turn ON checkpoints (session_id, turn, id)",
        "ALTER TABLE messages ADD COLUMN rewound INTEGER NOT NULL DEFAULT 0",
    ),
    # 5: "always" approval grants of a session, so resume keeps them and
    # `hermes approvals list --session ID` shows them.
    5: (
        """CREATE TABLE session_grants (
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            rule TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (session_id, rule)
        )""",
    ),
    # 6: drafts grow by appending parts (a streamed reply is never rewritten whole; the
    # drafts row keeps only the unfinished last line), and usage counted locally because
    # the server reported none is marked as an estimate.
    6: (
        """CREATE TABLE draft_parts (
            session_id TEXT NOT NULL REFERENCES drafts (session_id) ON DELETE CASCADE,
            part INTEGER NOT NULL,
            content TEXT NOT NULL,
            PRIMARY KEY (session_id, part)
        )""",
        "ALTER TABLE model_calls ADD COLUMN usage_estimated INTEGER NOT NULL DEFAULT 0",
    ),
    # 7: every hook run (hermes.hooks): which event and command, how long, how it ended
    # (exit code NULL: killed or never started) and what it decided.
    7: (
        """CREATE TABLE hook_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            event TEXT NOT NULL,
            command TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            call_id TEXT NOT NULL DEFAULT '',
            tool_name TEXT NOT NULL DEFAULT '',
            started_at REAL NOT NULL,
            duration_ms REAL NOT NULL,
            exit_code INTEGER,
            outcome TEXT NOT NULL,
            decision TEXT NOT NULL DEFAULT '',
            message TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX hook_runs_by_session ON hook_runs (session_id, id)",
    ),
    # 8: what a resumed session needs to look as it did live: each call's diff, exit code
    # and duration, each reply's reasoning, and the cost an endpoint reported.
    8: (
        "ALTER TABLE tool_calls ADD COLUMN diff TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE tool_calls ADD COLUMN exit_code INTEGER",
        "ALTER TABLE tool_calls ADD COLUMN duration REAL",
        "ALTER TABLE messages ADD COLUMN reasoning TEXT",
        "ALTER TABLE model_calls ADD COLUMN cost REAL",
    ),
    # 9: subagents, the to-do list and plan mode (hermes.engine.subagents, todos, plan): a
    # child session names its parent session and the parent's ``task`` call (and the
    # task's description); a session's to-do list as last written; the approval mode to
    # go back to when a plan is accepted.
    9: (
        "ALTER TABLE sessions ADD COLUMN parent_session_id TEXT",
        "ALTER TABLE sessions ADD COLUMN parent_call_id TEXT",
        "ALTER TABLE sessions ADD COLUMN agent TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE sessions ADD COLUMN mode_before_plan TEXT",
        "CREATE INDEX sessions_by_parent ON sessions (parent_session_id, parent_call_id)",
        """CREATE TABLE session_todos (
            session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
            items TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
    ),
}

SCHEMA_VERSION = max(MIGRATIONS)
