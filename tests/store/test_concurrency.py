"""Several hermes processes on one database: nothing lost, no "database is locked"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hermes.store.sessions import Store

APPENDER = """
import sys
from pathlib import Path
from hermes.messages import Message
from hermes.store.sessions import Store

db, name, own, shared, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
store = Store(Path(db))
print("READY", flush=True)
sys.stdin.readline()  # start together
for i in range(count):
    session = own if i % 2 == 0 else shared
    store.append_message(session, Message("user", f"{name} {i}"))
store.close()
print("DONE", flush=True)
"""


def test_two_processes_append_500_messages_each(tmp_path: Path) -> None:
    path = tmp_path / "hermes.db"
    store = Store(path)
    a = store.create_session("/a", "m", "ask").id
    b = store.create_session("/b", "m", "ask").id
    shared = store.create_session("/shared", "m", "ask").id
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(path), name, own, shared, "500"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, own in (("A", a), ("B", b))
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "READY\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out == "DONE\n" and err == ""  # "database is locked" never surfaced

    def texts(sid: str) -> list[str]:
        return [m.message.content or "" for m in store.load_messages(sid)]

    assert texts(a) == [f"A {i}" for i in range(0, 500, 2)]
    assert texts(b) == [f"B {i}" for i in range(0, 500, 2)]
    mixed = texts(shared)
    assert len(mixed) == 500  # one history, two writers, nothing clobbered
    assert [t for t in mixed if t.startswith("A")] == [f"A {i}" for i in range(1, 500, 2)]
    assert [t for t in mixed if t.startswith("B")] == [f"B {i}" for i in range(1, 500, 2)]
    assert [m.seq for m in store.load_messages(shared)] == list(range(500))
    assert sum(s.message_count for s in store.list_sessions()) == 1000
    assert store.read("PRAGMA integrity_check") == [("ok",)]
    store.close()


def test_a_writer_waits_for_a_lock_held_by_another_process(tmp_path: Path) -> None:
    """A process holding the write lock for a while delays others; it never fails them."""
    path = tmp_path / "hermes.db"
    store = Store(path)
    sid = store.create_session("/w", "m", "ask").id
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "db.execute('BEGIN IMMEDIATE')\n"
            "print('LOCKED', flush=True)\n"
            "time.sleep(1.5)\n"
            "db.execute('COMMIT')\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "LOCKED\n"
    from hermes.messages import Message

    store.append_message(sid, Message("user", "waited for the lock"))
    assert holder.wait(timeout=30) == 0
    assert [m.message.content for m in store.load_messages(sid)] == ["waited for the lock"]
    store.close()
