"""Group commit: concurrent writes share a transaction, and each still returns only
once its write is committed; a failing write undoes only its own changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hermes.store.database import Database, WriteStats


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "t.db")
    with database.write() as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
    return database


def rows(database: Database) -> list[str]:
    return sorted(r[0] for r in database.read("SELECT x FROM t"))


def insert(database: Database, value: str, then: Callable[[], None] = lambda: None) -> None:
    with database.write() as conn:
        conn.execute("INSERT INTO t VALUES (?)", (value,))
        then()


def wait_until(condition: Callable[[], bool]) -> None:
    event = threading.Event()
    while not condition():
        event.wait(0.001)


def test_writers_queued_behind_a_write_share_its_commit(db: Database) -> None:
    before = db.write_stats()
    release = threading.Event()
    first = threading.Thread(target=insert, args=(db, "a", release.wait))
    first.start()
    wait_until(lambda: db.write_stats().writes == before.writes + 1)
    queued = [threading.Thread(target=insert, args=(db, v)) for v in ("b", "c", "d")]
    for t in queued:
        t.start()
    wait_until(lambda: db.write_stats().waiting == 3)
    release.set()
    for t in (first, *queued):
        t.join()

    assert rows(db) == ["a", "b", "c", "d"]
    after = db.write_stats()
    assert (after.writes - before.writes, after.commits - before.commits) == (4, 1)
    assert after.waiting == 0


def test_a_failing_write_in_a_group_undoes_only_its_own_changes(db: Database) -> None:
    before = db.write_stats()
    release = threading.Event()
    errors: list[BaseException] = []

    def failing() -> None:
        def boom() -> None:
            raise ValueError("the write's own error")

        try:
            insert(db, "bad", boom)
        except ValueError as exc:
            errors.append(exc)

    first = threading.Thread(target=insert, args=(db, "a", release.wait))
    first.start()
    wait_until(lambda: db.write_stats().writes == before.writes + 1)
    others = [threading.Thread(target=failing), threading.Thread(target=insert, args=(db, "c"))]
    for t in others:
        t.start()
    wait_until(lambda: db.write_stats().waiting == 2)
    release.set()
    for t in (first, *others):
        t.join()

    assert rows(db) == ["a", "c"]
    assert [str(e) for e in errors] == ["the write's own error"]
    after = db.write_stats()
    assert (after.writes - before.writes, after.commits - before.commits) == (3, 1)


def test_a_write_that_fails_alone_is_rolled_back_and_the_next_one_commits(db: Database) -> None:
    before = db.write_stats()
    with pytest.raises(ValueError):
        with db.write() as conn:
            conn.execute("INSERT INTO t VALUES ('lost')")
            raise ValueError
    insert(db, "kept")
    assert rows(db) == ["kept"]
    assert db.write_stats() == WriteStats(
        writes=before.writes + 2, commits=before.commits + 1, waiting=0
    )


def test_a_nested_write_is_undone_with_its_own_error_only(db: Database) -> None:
    with db.write() as conn:
        conn.execute("INSERT INTO t VALUES ('outer')")
        with pytest.raises(ValueError):
            with db.write() as inner:
                inner.execute("INSERT INTO t VALUES ('inner')")
                raise ValueError
    assert rows(db) == ["outer"]


def test_a_reader_sees_a_groups_writes_only_once_committed(db: Database) -> None:
    before = db.write_stats()
    release = threading.Event()
    seen: list[list[str]] = []
    writer = threading.Thread(target=insert, args=(db, "a", release.wait))
    writer.start()
    wait_until(lambda: db.write_stats().writes == before.writes + 1)
    reader = threading.Thread(target=lambda: seen.append(rows(db)))
    reader.start()
    release.set()
    for t in (writer, reader):
        t.join()
    # The reader waited for the commit: it saw the row, never a state without it
    # while the write was open on the same connection.
    assert seen == [["a"]]
