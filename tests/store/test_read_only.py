"""A read-only HERMES_HOME still lists, shows, searches and exports sessions (issue 20,
finding 16); anything that would write says the database is read-only.

The real case runs ``hermes`` with HERMES_HOME truly read-only: as root (CI), in a mount
namespace where it is bind-mounted read-only (permission bits do not stop root); as any
other user, with its write bits removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hermes.messages import Message, ToolCall
from hermes.store import database
from hermes.store.sessions import Store, StoreError

SECRET_WORD = "ZEBRA-7"
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def seed(home: Path) -> str:
    """A session with a tool round trip in ``home``'s database; its id."""
    store = Store(home / "hermes.db")
    try:
        record = store.create_session("/ws", "m", "ask", "read the notes")
        call = ToolCall("c1", "read_file", '{"path": "notes.txt"}')
        for message in (
            Message("user", "what is the code word?"),
            Message("assistant", None, (call,)),
            Message("tool", f"1\tthe code word is {SECRET_WORD}", tool_call_id="c1"),
            Message("assistant", f"It is {SECRET_WORD}."),
        ):
            store.append_message(record.id, message)
        return record.id
    finally:
        store.close()


def digest(home: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(home.iterdir())}


def _can_mount_read_only(probe: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    ran = subprocess.run(
        ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && ! touch "$0/x"', probe],
        capture_output=True,
    )
    return ran.returncode == 0


@pytest.fixture
def read_only_runner(tmp_path: Path) -> Iterator[Runner]:
    """``run(home, *args)``: ``python -m hermes ARGS`` with ``home`` read-only."""
    probe = tmp_path / "probe"
    probe.mkdir()
    as_root = os.geteuid() == 0
    if as_root and not _can_mount_read_only(probe):
        pytest.skip("running as root without a mount namespace: cannot make a read-only home")
    restore: list[tuple[Path, int]] = []

    def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HERMES_"))}
        env["HERMES_HOME"] = str(home)
        argv = [sys.executable, "-m", "hermes", *args]
        if as_root:
            script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
            argv = ["unshare", "-m", "sh", "-c", script, str(home), *argv]
        else:
            for path in [home, *home.iterdir()]:
                restore.append((path, path.stat().st_mode))
                path.chmod(path.stat().st_mode & ~0o222)
        try:
            return subprocess.run(
                argv, env=env, cwd=home.parent, capture_output=True, text=True, timeout=120
            )
        finally:
            for path, mode in reversed(restore):
                path.chmod(mode)
            restore.clear()

    yield run


def test_sessions_commands_work_with_a_read_only_home(
    tmp_path: Path, read_only_runner: Runner
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    sid = seed(home)
    before = digest(home)
    assert set(before) == {"hermes.db"}  # closed cleanly: no -wal or -shm to lean on
    run = read_only_runner

    listed = run(home, "sessions", "list", "--all-workspaces")
    assert listed.returncode == 0, listed.stderr
    assert sid in listed.stdout and "read the notes" in listed.stdout
    shown = run(home, "sessions", "show", sid[:8])
    assert shown.returncode == 0, shown.stderr
    assert f"It is {SECRET_WORD}." in shown.stdout
    found = run(home, "sessions", "search", SECRET_WORD)
    assert found.returncode == 0, found.stderr
    assert sid in found.stdout
    exported = run(home, "sessions", "export", sid)
    assert exported.returncode == 0, exported.stderr
    assert SECRET_WORD in exported.stdout

    retitled = run(home, "sessions", "title", sid, "new title")
    assert retitled.returncode == 1
    assert "read-only" in retitled.stderr and "Traceback" not in retitled.stderr
    assert digest(home) == before


def test_a_read_only_home_sees_writes_still_in_the_wal(
    tmp_path: Path, read_only_runner: Runner
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    sid = seed(home)
    writer = Store(home / "hermes.db")  # open: its -wal and -shm stay
    try:
        writer.append_message(sid, Message("user", "one more question about PELICAN"))
        assert (home / "hermes.db-wal").exists()
        found = read_only_runner(home, "sessions", "search", "PELICAN")
        assert found.returncode == 0, found.stderr
        assert sid in found.stdout
    finally:
        writer.close()


# --------------------------------------------------------------------------- in process


@pytest.fixture
def not_writable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store sees its file as not writable (SQLite's ``mode=ro`` then enforces it)."""
    monkeypatch.setattr(database, "_writable", lambda path: False)


def test_store_opens_read_only_and_refuses_writes(tmp_path: Path, not_writable: None) -> None:
    sid = seed(tmp_path)
    store = Store(tmp_path / "hermes.db")
    try:
        assert store.read_only
        assert [m.message.content for m in store.load_messages(sid)][-1] == f"It is {SECRET_WORD}."
        assert [h.session_id for h in store.search(SECRET_WORD)] == [sid, sid]
        with pytest.raises(StoreError, match="read-only here"):
            store.create_session("/ws", "m", "ask")
    finally:
        store.close()


def test_read_only_store_refuses_a_database_that_needs_migrating(
    tmp_path: Path, not_writable: None
) -> None:
    seed(tmp_path)
    db = sqlite3.connect(tmp_path / "hermes.db")
    db.execute("DELETE FROM schema_version WHERE version > 1")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"needs an upgrade .* read-only"):
        Store(tmp_path / "hermes.db")


def test_a_missing_database_in_a_read_only_home_is_not_created(
    tmp_path: Path, read_only_runner: Runner
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    listed = read_only_runner(home, "sessions", "list")
    assert listed.returncode == 1
    assert "cannot open the session database" in listed.stderr
    assert "Traceback" not in listed.stderr
    assert list(home.iterdir()) == []
