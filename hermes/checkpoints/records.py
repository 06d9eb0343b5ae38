"""Checkpoint and turn records in the session database (tables of migration 4).

``session_turns``: one row per user turn (its number, the seq of the message that opened
it, the prompt, and whether its file changes are undone or the conversation was rewound
past it). ``checkpoints``: one row per recorded workspace state, linked to the turn and
the tool call it was taken for. Functions block; call them from a worker thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hermes.checkpoints.shadow import Skipped, describe, undescribe
from hermes.redact import redact
from hermes.store.sessions import Store

CheckpointKind = Literal["write", "exec", "post", "undo", "redo"]
"""``write``/``exec``: taken before a tool call changed files; ``post``: what the agent
left when the turn ended; ``undo``/``redo``: the files as they were before an undo or
redo overwrote them (so even that can be recovered)."""


@dataclass(frozen=True)
class TurnRecord:
    """One user turn of a session."""

    session_id: str
    turn: int
    seq: int
    prompt: str
    created_at: float
    undone: bool = False
    rewound: bool = False


@dataclass(frozen=True)
class CheckpointRecord:
    """One recorded state: a commit in the shadow repository.

    ``paths`` lists the workspace paths it covers (a file checkpoint); None means the
    whole workspace (a scan before a command, or after a turn that ran one).
    """

    id: int
    session_id: str
    turn: int
    call_id: str
    kind: CheckpointKind
    commit: str
    paths: tuple[str, ...] | None
    skipped: tuple[Skipped, ...]
    created_at: float


_TURN_COLS = "session_id, turn, seq, prompt, created_at, undone, rewound"
_CP_COLS = "id, session_id, turn, call_id, kind, commit_sha, paths, skipped, created_at"


def _turn(row: Sequence[Any]) -> TurnRecord:
    sid, turn, seq, prompt, created, undone, rewound = row
    return TurnRecord(sid, turn, seq, prompt, created, bool(undone), bool(rewound))


def _checkpoint(row: Sequence[Any]) -> CheckpointRecord:
    cid, sid, turn, call_id, kind, commit, paths, skipped, created = row
    return CheckpointRecord(
        id=cid,
        session_id=sid,
        turn=turn,
        call_id=call_id,
        kind=kind,
        commit=commit,
        paths=None if paths is None else tuple(json.loads(paths)),
        skipped=undescribe(json.loads(skipped or "[]")),
        created_at=created,
    )


def start_turn(store: Store, session_id: str, prompt: str) -> TurnRecord:
    """Record a new turn; its number follows the session's last one (resume included)."""
    now = time.time()
    with store.write() as db:
        row = db.execute(
            "SELECT COALESCE(MAX(turn), 0), (SELECT message_count FROM sessions WHERE id = ?) "
            "FROM session_turns WHERE session_id = ?",
            (session_id, session_id),
        ).fetchone()
        turn, seq = int(row[0]) + 1, int(row[1] or 0)
        db.execute(
            f"INSERT INTO session_turns ({_TURN_COLS}) VALUES (?, ?, ?, ?, ?, 0, 0)",
            (session_id, turn, seq, redact(prompt), now),
        )
    return TurnRecord(session_id, turn, seq, prompt, now)


def last_turn(store: Store, session_id: str) -> int:
    """The number of the session's latest turn (0 before the first)."""
    rows = store.read(
        "SELECT COALESCE(MAX(turn), 0) FROM session_turns WHERE session_id = ?", (session_id,)
    )
    return int(rows[0][0])


def turns(store: Store, session_id: str) -> list[TurnRecord]:
    """Every turn of the session, oldest first."""
    rows = store.read(
        f"SELECT {_TURN_COLS} FROM session_turns WHERE session_id = ? ORDER BY turn",
        (session_id,),
    )
    return [_turn(r) for r in rows]


def add_checkpoint(
    store: Store,
    session_id: str,
    turn: int,
    call_id: str,
    kind: CheckpointKind,
    commit: str,
    paths: tuple[str, ...] | None,
    skipped: tuple[Skipped, ...],
) -> CheckpointRecord:
    """Commit one checkpoint row durably."""
    now = time.time()
    paths_json = None if paths is None else json.dumps(list(paths), ensure_ascii=False)
    skipped_json = json.dumps(describe(skipped), ensure_ascii=False)
    with store.write() as db:
        cur = db.execute(
            "INSERT INTO checkpoints (session_id, turn, call_id, kind, commit_sha, paths, "
            "skipped, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, turn, call_id, kind, commit, paths_json, skipped_json, now),
        )
        cid = cur.lastrowid or 0
    return CheckpointRecord(cid, session_id, turn, call_id, kind, commit, paths, skipped, now)


def checkpoints(store: Store, session_id: str, turn: int | None = None) -> list[CheckpointRecord]:
    """The session's checkpoints (of one turn when given), in the order they were taken."""
    where = "session_id = ?"
    params: list[object] = [session_id]
    if turn is not None:
        where += " AND turn = ?"
        params.append(turn)
    rows = store.read(f"SELECT {_CP_COLS} FROM checkpoints WHERE {where} ORDER BY id", params)
    return [_checkpoint(r) for r in rows]


def set_undone(store: Store, session_id: str, turn: int, undone: bool) -> None:
    """Mark a turn's file changes as undone (or redone)."""
    with store.write() as db:
        db.execute(
            "UPDATE session_turns SET undone = ? WHERE session_id = ? AND turn = ?",
            (int(undone), session_id, turn),
        )


def rewind_conversation(store: Store, session_id: str, turn: TurnRecord) -> int:
    """Cut the model's view before ``turn``: its messages and all later ones are marked
    rewound (kept in the database), and so are the turns. Returns the messages marked."""
    with store.write() as db:
        cur = db.execute(
            "UPDATE messages SET rewound = 1 WHERE session_id = ? AND seq >= ? AND rewound = 0",
            (session_id, turn.seq),
        )
        db.execute(
            "UPDATE session_turns SET rewound = 1 WHERE session_id = ? AND turn >= ?",
            (session_id, turn.turn),
        )
        return cur.rowcount
