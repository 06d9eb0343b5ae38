"""Every hook run of a session (table ``hook_runs``, migration 7): what ran, for how long,
how it ended and what it decided. Shown by ``hermes sessions show --hooks``.

Text is redacted before it is written, like everything else in the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hermes.redact import redact
from hermes.store.database import Database

MESSAGE_MAX_CHARS = 2_000
"""What of a hook's message (its reason or stderr) is kept."""


@dataclass(frozen=True)
class HookRunRecord:
    """One hook run. ``exit_code`` None: killed (timeout, interrupt) or never started."""

    event: str
    command: str
    duration_ms: float
    exit_code: int | None
    outcome: str  # ok | blocked | error | timeout | interrupted
    decision: str = ""  # deny | ask | allow | block | stop | ""
    message: str = ""
    source: str = ""  # the config file the hook came from
    call_id: str = ""
    tool_name: str = ""
    started_at: float = 0.0


def record_hook_run(store: Database, session_id: str, run: HookRunRecord) -> None:
    """Store one hook run."""
    message = run.message[:MESSAGE_MAX_CHARS]
    with store.write() as db:
        db.execute(
            "INSERT INTO hook_runs (session_id, event, command, source, call_id, tool_name, "
            "started_at, duration_ms, exit_code, outcome, decision, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                run.event,
                redact(run.command),
                run.source,
                run.call_id,
                run.tool_name,
                run.started_at or time.time(),
                run.duration_ms,
                run.exit_code,
                run.outcome,
                run.decision,
                redact(message),
            ),
        )


def hook_runs(store: Database, session_id: str) -> list[HookRunRecord]:
    """The session's hook runs, oldest first."""
    rows = store.read(
        "SELECT event, command, duration_ms, exit_code, outcome, decision, message, source, "
        "call_id, tool_name, started_at FROM hook_runs WHERE session_id = ? ORDER BY id",
        (session_id,),
    )
    return [HookRunRecord(*row) for row in rows]
