"""The session database connection: pragmas, migrations, locked writes with retry.

WAL with ``synchronous=FULL`` (an acknowledged commit survives power loss),
``BEGIN IMMEDIATE`` for every write, so several hermes processes can share one file.
Waiting for another process's lock is done here, not by SQLite's busy handler (whose
sleeps grow to 100 ms and starve a waiter while another process writes steadily): short
jittered retries until ``busy_timeout_ms`` has passed, so "database is locked" never
reaches a user. A database from a newer schema is refused before anything is written.

Where the file or its directory cannot be written (a read-only ``HERMES_HOME``, another
user's files), an existing database opens read-only so sessions can still be listed,
shown, searched and exported; any write then fails with a :class:`StoreError` saying why.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hermes.store.migrations import MIGRATIONS, SCHEMA_VERSION
from hermes.store.records import StoreError

_T = TypeVar("_T")
_FIRST_WAIT = 0.0005
_LONGEST_WAIT = 0.02


def _busy(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _writable(path: Path) -> bool:
    """Can this process write ``path`` and create files beside it (its journal)?
    ``os.access`` also says no on a read-only file system, even to root."""
    return os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)


@dataclass(frozen=True)
class WriteStats:
    """How writes were committed: ``writes`` joined ``commits`` transactions;
    ``waiting`` writers are queued for the connection now."""

    writes: int
    commits: int
    waiting: int


@dataclass
class _Group:
    """Writes sharing one transaction: how many joined, and how it ended."""

    members: int = 0
    done: bool = False
    error: sqlite3.Error | None = None


class Database:
    """One SQLite connection guarded by a lock; the base of :class:`hermes.store.sessions.Store`."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self._lock = threading.RLock()
        # Group commit (see write): the writers waiting for the lock, the open group,
        # and a condition to wait for its commit on.
        self._lock_free = threading.Condition(self._lock)
        self._queue_lock = threading.Lock()
        self._queued = 0
        self._group: _Group | None = None
        self._local = threading.local()
        self._writes = 0
        self._commits = 0
        self._busy_timeout = busy_timeout_ms / 1000
        self.read_only = path.is_file() and not _writable(path)
        if self.read_only:
            self._db = self._open_read_only()
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path),
                timeout=0,  # see _retry
                isolation_level=None,
                check_same_thread=False,
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path}: cannot open the session database: {exc}") from exc
        try:
            self._check_version()
            self._retry(lambda: self._db.execute("PRAGMA journal_mode=WAL").fetchone())
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(
                    f"{path}: cannot open the session database ({exc}). The file was left as "
                    "it is; run `hermes doctor`, or move it aside to start a fresh one."
                ) from exc
            raise

    def _open_read_only(self) -> sqlite3.Connection:
        """Open for reading only. A WAL database needs its ``-shm`` file, which SQLite
        cannot create in a read-only directory; when it is absent (hermes closed the
        database cleanly, so the main file holds everything) open it as immutable."""
        uri = "file:" + urllib.parse.quote(str(self.path.absolute())) + "?mode=ro"
        problem: sqlite3.Error | None = None
        for suffix in ("", "&immutable=1"):
            if suffix and self.path.with_name(self.path.name + "-wal").exists():
                break  # unmerged writes: an immutable open would not see them
            db = sqlite3.connect(
                uri + suffix, uri=True, timeout=0, isolation_level=None, check_same_thread=False
            )
            self._db = db
            try:
                self._check_version()
                if (version := self._stored_version()) < SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path}: this database needs an upgrade (schema {version} -> "
                        f"{SCHEMA_VERSION}) but it is read-only here; run hermes once where "
                        "it can be written"
                    )
                return db
            except BaseException as exc:
                db.close()
                if not isinstance(exc, sqlite3.Error):
                    raise
                problem = exc
        raise StoreError(
            f"{self.path}: cannot open the session database read-only ({problem}); its "
            "directory and file are not writable here"
        )

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._db.close()

    def _retry(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn``; while another process holds a lock, retry after short jittered
        waits (0.5 to 20 ms) until the busy timeout has passed."""
        deadline = time.monotonic() + self._busy_timeout
        wait = _FIRST_WAIT
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(wait * (0.5 + random.random()))
            wait = min(wait * 1.5, _LONGEST_WAIT)

    def _fail(self, exc: sqlite3.Error, doing: str) -> StoreError:
        return StoreError(
            f"{self.path}: could not {doing}: {exc}. Nothing more is run until the session "
            "database can be written again (check free disk space and permissions)."
        )

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write, committed durably before this returns; any SQLite failure is a
        StoreError.

        Group commit: writes that arrive while another is in progress join its
        ``BEGIN IMMEDIATE`` transaction, each in a savepoint (a failing write undoes only
        its own changes), and the last of them commits for all, so concurrent writers
        (parallel tool results, subagents) share one fsync instead of queueing for one
        each. Every writer still returns only after the commit holding its write.

        Nested in another ``write`` of this store (same thread), it is a savepoint of the
        outer write: undone on error, committed with it.
        """
        if getattr(self._local, "depth", 0):
            with self._lock:
                yield from self._savepoint()
            return
        if self.read_only:
            raise StoreError(
                f"{self.path}: the session database is read-only here (its directory or "
                "file is not writable); sessions can be listed, shown, searched and "
                "exported, but nothing can be saved"
            )
        with self._queue_lock:
            self._queued += 1
        with self._lock:
            with self._queue_lock:
                self._queued -= 1
            group = self._group
            if group is None:
                try:
                    self._retry(lambda: self._db.execute("BEGIN IMMEDIATE"))
                except sqlite3.Error as exc:
                    raise self._fail(exc, "start a write") from exc
                group = self._group = _Group()
            alone = group.members == 0
            group.members += 1
            self._writes += 1
            if not alone:
                self._db.execute("SAVEPOINT group_member")
            self._local.depth = 1
            try:
                yield self._db
            except BaseException as exc:
                self._local.depth = 0
                self._undo_member(group, alone)
                if isinstance(exc, sqlite3.Error):
                    raise self._fail(exc, "save to the session database") from exc
                raise
            self._local.depth = 0
            if not alone:
                self._db.execute("RELEASE group_member")
            self._settle(group)
            if group.error is not None:
                raise self._fail(group.error, "save to the session database") from group.error

    def _undo_member(self, group: _Group, alone: bool) -> None:
        """Undo a failed write's changes, and only its own. Called holding the lock."""
        if alone:
            # Nobody else's changes are in the transaction yet: undo it whole.
            self._end_group(group, "ROLLBACK")
            return
        try:
            self._db.execute("ROLLBACK TO group_member")
            self._db.execute("RELEASE group_member")
        except sqlite3.Error as exc:
            # SQLite already rolled the whole transaction back (disk full, I/O error):
            # the other writes of the group are lost too, and must say so.
            group.error = exc
            self._end_group(group, "ROLLBACK")
            return
        self._settle(group)

    def _settle(self, group: _Group) -> None:
        """Commit ``group`` if no other writer is waiting to join it; otherwise wait
        (lock released) until the last one has committed it. Called holding the lock."""
        with self._queue_lock:
            last = self._queued == 0
        if last:
            self._end_group(group, "COMMIT")
            return
        while not group.done:
            self._lock_free.wait()

    def _end_group(self, group: _Group, statement: str) -> None:
        """COMMIT or ROLLBACK the group's transaction and wake its waiting members."""
        try:
            if self._db.in_transaction:
                self._db.execute(statement)
                self._commits += statement == "COMMIT"
            elif statement == "COMMIT" and group.error is None:
                group.error = sqlite3.OperationalError("the transaction was rolled back")
        except sqlite3.Error as exc:
            group.error = group.error or exc
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
        finally:
            group.done = True
            self._group = None
            self._lock_free.notify_all()

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        depth = self._local.depth
        name = f"nested_write_{depth}"
        self._db.execute(f"SAVEPOINT {name}")
        self._local.depth = depth + 1
        try:
            yield self._db
        except BaseException:
            self._db.execute(f"ROLLBACK TO {name}")
            self._db.execute(f"RELEASE {name}")
            raise
        finally:
            self._local.depth = depth
        self._db.execute(f"RELEASE {name}")

    def write_stats(self) -> WriteStats:
        """Writes and commits so far, and the writers waiting for the connection."""
        with self._queue_lock:
            return WriteStats(self._writes, self._commits, self._queued)

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads only: held alone, and never while a group of
        writes is still uncommitted (a reader sees only what is durable)."""
        with self._lock:
            if not getattr(self._local, "depth", 0):
                while self._group is not None:
                    self._lock_free.wait()
            yield self._db

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Run one read-only query and return all its rows."""
        with self.reading():
            try:
                return self._retry(lambda: self._db.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{self.path}: could not read the session database: {exc}"
                ) from exc

    def _stored_version(self) -> int:
        exists = self._retry(
            lambda: self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
        )
        if exists is None:
            return 0
        row = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _check_version(self) -> None:
        """Refuse a database from a newer hermes before writing anything to it."""
        current = self._stored_version()
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: this database was written by a newer hermes (schema "
                f"{current}, this hermes knows {SCHEMA_VERSION}). Upgrade hermes; the file "
                "was not touched."
            )

    def _migrate(self) -> None:
        if self._stored_version() == SCHEMA_VERSION:
            return
        with self.write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            current = self._stored_version()  # another process may have migrated meanwhile
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def schema_version(self) -> int:
        """The schema version of the open database."""
        return int(self.read("SELECT MAX(version) FROM schema_version")[0][0] or 0)
