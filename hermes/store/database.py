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


class Database:
    """One SQLite connection guarded by a lock; the base of :class:`hermes.store.sessions.Store`."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self._lock = threading.RLock()
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
        """One IMMEDIATE transaction, committed durably; any SQLite failure is a StoreError.

        Nested in another ``write`` of this store (same thread), it is a savepoint of the
        outer transaction: undone on error, committed with the outer one.
        """
        with self._lock:
            if self.read_only:
                raise StoreError(
                    f"{self.path}: the session database is read-only here (its directory or "
                    "file is not writable); sessions can be listed, shown, searched and "
                    "exported, but nothing can be saved"
                )
            if self._db.in_transaction:
                yield from self._savepoint()
                return
            try:
                self._retry(lambda: self._db.execute("BEGIN IMMEDIATE"))
            except sqlite3.Error as exc:
                raise self._fail(exc, "start a write") from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(exc, sqlite3.Error):
                    raise self._fail(exc, "save to the session database") from exc
                raise

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("SAVEPOINT nested_write")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK TO nested_write")
            self._db.execute("RELEASE nested_write")
            raise
        self._db.execute("RELEASE nested_write")

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Run one read-only query and return all its rows."""
        with self._lock:
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
