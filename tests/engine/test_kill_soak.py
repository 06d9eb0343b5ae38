"""Randomized kill -9 soak: at least 200 writer processes killed at random moments.

Two writers (``tests/soak_writer.py``) share one database and write sessions the way a
turn does, acknowledging each commit on stdout; the test SIGKILLs each at a random
moment (sometimes while it is still starting or migrating, mostly in the middle of its
writes, often while the other holds the write lock). After every kill:

- ``PRAGMA integrity_check`` is ok;
- no acknowledged write is lost, and what survives is a prefix of what was planned
  (at most one write past the last acknowledgement: committed, not yet acknowledged);
- resuming the session sends a history the scripted server accepts.

Rounds of two writers run until ``HERMES_SOAK_KILLS`` (default 200) writers were killed
mid-run. ``HERMES_SOAK_SEED`` replays a run (the seed is in every failure message).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hermes import protocol as p
from hermes.engine.engine import Engine
from hermes.execution.executor import Executor
from hermes.store.sessions import Store
from hermes.testing.scripted.server import ScriptedServer
from hermes.testing.scripted.types import ScriptedReply
from tests.soak_writer import Write, plan
from tests.support import make_config, of_type, run_prompt

WRITER = Path(__file__).parents[1] / "soak_writer.py"
KILLS = int(os.environ.get("HERMES_SOAK_KILLS", "200"))
MESSAGE_KINDS = ("user", "assistant", "tool")


def expected_messages(writes: list[Write]) -> list[tuple[str, str | None, str | None]]:
    out: list[tuple[str, str | None, str | None]] = []
    for w in writes:
        if w.kind == "user":
            out.append(("user", w.text, None))
        elif w.kind == "assistant":
            out.append(("assistant", w.text or None, None))
        elif w.kind == "tool":
            out.append(("tool", w.text, w.call_id))
    return out


class Writer:
    def __init__(self, db: Path, sid: str, seed: int) -> None:
        self.sid, self.seed = sid, seed
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(db), sid, str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.output = ""

    def wait_first_ack(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.output += line
        assert line == "ACK 0\n", f"writer failed to start: {line!r} {self.finish_stderr()}"

    def kill(self) -> bool:
        """SIGKILL the writer's process group; True if it was still running."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        assert self.proc.stdout is not None
        self.output += self.proc.stdout.read()
        if self.proc.returncode not in (0, -signal.SIGKILL):
            raise AssertionError(f"writer {self.sid} failed: {self.finish_stderr()}")
        return self.proc.returncode == -signal.SIGKILL

    def finish_stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read() if self.proc.poll() is not None else ""

    @property
    def acked(self) -> int:
        """How many planned writes were acknowledged (-1: not even the session)."""
        acks = [
            int(line.split()[1]) for line in self.output.splitlines() if line.startswith("ACK ")
        ]
        assert acks == list(range(len(acks))), "acknowledgements out of order"
        return len(acks) - 1


def check_survivors(db: sqlite3.Connection, w: Writer, where: str) -> bool:
    """The session's rows are a prefix of the plan covering every acknowledged write.
    Returns whether the session exists."""
    writes = plan(w.seed)
    acked = w.acked
    exists = db.execute("SELECT COUNT(*) FROM sessions WHERE id = ?", (w.sid,)).fetchone()[0]
    if acked >= 0:
        assert exists, f"{where}: acknowledged session {w.sid} is gone"
    if not exists:
        return False
    rows = db.execute(
        "SELECT role, content, tool_call_id, tool_calls FROM messages WHERE session_id = ? "
        "ORDER BY seq",
        (w.sid,),
    ).fetchall()
    got = [(r[0], r[1], r[2]) for r in rows]
    want = expected_messages(writes)
    at_least = len(expected_messages(writes[: max(acked, 0)]))
    at_most = len(expected_messages(writes[: max(acked, 0) + 1]))
    assert at_least <= len(got) <= at_most, (
        f"{where}: {len(got)} messages survive, acknowledged {at_least} (at most {at_most})"
    )
    assert got == want[: len(got)], f"{where}: what survives is not a prefix of what was written"
    calls = [c for w_ in writes if w_.kind == "assistant" for c in w_.calls]
    stored_calls = [c for r in rows if r[3] for c in json.loads(r[3])]
    assert [c["id"] for c in stored_calls] == [c[0] for c in calls[: len(stored_calls)]]
    count = db.execute("SELECT message_count FROM sessions WHERE id = ?", (w.sid,)).fetchone()[0]
    assert count == len(got), f"{where}: message_count {count} != {len(got)} rows"
    models = db.execute(
        "SELECT COUNT(*) FROM model_calls WHERE session_id = ?", (w.sid,)
    ).fetchone()
    acked_models = sum(1 for x in writes[: max(acked, 0)] if x.kind == "model_call")
    assert acked_models <= models[0] <= acked_models + 1, f"{where}: model calls lost"
    return True


async def resume_is_accepted(
    server: ScriptedServer, store: Store, executor: Executor, workspace: Path, sid: str, where: str
) -> None:
    server.add(ScriptedReply(text="resumed fine"))
    # A window no soak session fills, so the one scripted reply answers the resumed turn
    # (compaction would ask the model for a summary first).
    cfg = make_config(server.base_url, workspace, {"model": {"context_window": 10_000_000}})
    engine = Engine.create(
        config=cfg,
        store=store,
        workspace=workspace,
        interactive=False,
        resume=store.get_session(sid),
        executor=executor,
        system_prompt="soak",
    )
    events = await run_prompt(engine, "are we good?")
    errors = [e.message for e in of_type(events, p.Error)]
    assert server.rejections == [], f"{where}: resumed history refused: {server.rejections}"
    assert of_type(events, p.TurnComplete), f"{where}: resume failed: {errors}"


def test_random_kills_lose_nothing_acknowledged(tmp_path: Path, workspace: Path) -> None:
    seed = int(os.environ.get("HERMES_SOAK_SEED", str(time.time_ns() % 10**9)))
    rng = random.Random(seed)
    for i in range(9):
        (workspace / f"f{i}.txt").write_text(f"file {i}\n")
    db_path = tmp_path / "soak.db"
    kills = 0
    sessions = 0
    executor = Executor(2)
    store: Store | None = None
    stats: dict[str, Any] = {"early": 0, "late": 0}
    with ScriptedServer() as server:
        r = -1
        while kills < KILLS and r < 2 * KILLS:
            r += 1
            where = f"seed {seed}, round {r}"
            writers = [Writer(db_path, f"s{r:03d}w{k}", rng.randrange(10**6)) for k in range(2)]
            if r > 0 and rng.random() < 0.15:
                stats["early"] += 1  # anywhere from interpreter start to mid-write
                time.sleep(rng.uniform(0.0, 0.5))
            else:
                stats["late"] += 1
                for w in writers:
                    w.wait_first_ack()
                time.sleep(rng.uniform(0.0, 0.25))
            for w in writers:
                time.sleep(rng.uniform(0.0, 0.03))
                kills += w.kill()
            db = sqlite3.connect(db_path, timeout=30)
            try:
                assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)], where
                alive = [w for w in writers if check_survivors(db, w, where)]
            finally:
                db.close()
            if store is None and alive:
                store = Store(db_path)
            for w in alive:
                assert store is not None
                asyncio.run(resume_is_accepted(server, store, executor, workspace, w.sid, where))
                sessions += 1
    if store is not None:
        store.close()
    executor.close()
    assert kills >= KILLS, f"only {kills} writers were killed mid-run (seed {seed}, {stats})"
    assert sessions >= r, f"only {sessions} sessions resumed in {r + 1} rounds (seed {seed})"
