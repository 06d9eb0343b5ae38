"""Drafts of a streaming reply are saved by appending (issue 20, finding 11), never
rewritten whole, and every stored piece is redacted."""

from __future__ import annotations

from typing import Any

import pytest

from hermes.messages import Message
from hermes.store.drafts import DraftSaver, stable_end
from hermes.store.sessions import ModelCallRecord, Store

SECRET = "sk-proj-abcdefghijklmnop0123456789"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----\n"


def rows(store: Store, sid: str) -> tuple[list[str], list[str]]:
    """(the draft's parts in order, its tail rows)."""
    parts = store.read("SELECT content FROM draft_parts WHERE session_id = ? ORDER BY part", (sid,))
    tails = store.read("SELECT content FROM drafts WHERE session_id = ?", (sid,))
    return [p[0] for p in parts], [t[0] for t in tails]


async def stream(saver: DraftSaver, text: list[str], pieces: list[str]) -> None:
    """Stream ``pieces`` into ``text``, saving after each one."""
    for piece in pieces:
        text.append(piece)
        saver.update(text)
        await saver.flush()


async def test_lines_are_appended_and_only_the_tail_is_rewritten(store: Store) -> None:
    sid = store.create_session("/w", "m", "ask").id
    saver = DraftSaver(store, sid, interval=0)
    written: list[tuple[str, str, bool]] = []
    append = store.append_draft

    def spy(session_id: str, done: str, tail: str, *, restart: bool = False) -> None:
        written.append((done, tail, restart))
        append(session_id, done, tail, restart=restart)

    store.append_draft = spy  # type: ignore[method-assign]
    text: list[str] = []
    await stream(saver, text, ["line one\nline t", "wo\nthr", "ee", "\nfour"])
    assert written == [
        ("line one\n", "line t", True),
        ("line two\n", "thr", False),
        ("", "three", False),
        ("three\n", "four", False),
    ]
    assert rows(store, sid) == (["line one\n", "line two\n", "three\n"], ["four"])
    assert store.draft(sid) == "".join(text)
    await saver.finish()


async def test_a_cleared_stream_starts_the_draft_again(store: Store) -> None:
    sid = store.create_session("/w", "m", "ask").id
    saver = DraftSaver(store, sid, interval=0)
    text: list[str] = []
    await stream(saver, text, ["first attempt\n", "cut"])
    text.clear()  # what the engine does when the request is retried
    saver.update(text)
    await stream(saver, text, ["second\n", "ok"])
    assert rows(store, sid) == (["second\n"], ["ok"])
    assert store.draft(sid) == "second\nok"


async def test_a_secret_split_across_saves_is_never_stored(store: Store) -> None:
    sid = store.create_session("/w", "m", "ask").id
    saver = DraftSaver(store, sid, interval=0)
    text: list[str] = []
    await stream(saver, text, ["key: " + SECRET[:10], SECRET[10:], " and more\n", "next"])
    assert rows(store, sid) == (["key: [REDACTED:api-key] and more\n"], ["next"])
    await stream(saver, text, [" " + SECRET])
    assert rows(store, sid)[1] == ["next [REDACTED:api-key]"]


async def test_a_private_key_block_is_saved_only_when_closed(store: Store) -> None:
    sid = store.create_session("/w", "m", "ask").id
    saver = DraftSaver(store, sid, interval=0)
    text: list[str] = []
    await stream(saver, text, ["Here:\n", *PEM.splitlines(keepends=True)[:3]])
    parts, tails = rows(store, sid)
    assert parts == ["Here:\n"] and "MIIEow" not in "".join(parts)
    assert tails == ["[REDACTED:private-key]"]
    await stream(saver, text, [PEM.splitlines(keepends=True)[3], "Done.\n"])
    assert rows(store, sid) == (["Here:\n", "[REDACTED:private-key]\n", "Done.\n"], [""])


def test_stable_end() -> None:
    assert stable_end("no newline yet") == 0
    assert stable_end("a\nb\nc") == 4
    assert stable_end("a\n" + PEM[:40]) == 2
    assert stable_end("a\n" + PEM + "b") == 2 + len(PEM)
    assert stable_end("x" * 30, max_tail=10) == 30  # nowhere better: all of it
    assert stable_end("word " * 6, max_tail=10) == 30  # at the last space


async def test_a_long_line_keeps_a_bounded_tail(store: Store) -> None:
    sid = store.create_session("/w", "m", "ask").id
    saver = DraftSaver(store, sid, interval=0, max_tail=16)
    text: list[str] = []
    await stream(saver, text, ["lorem ipsum " * 5] * 3 + ["lorem_ipsum_" * 5])
    parts, tails = rows(store, sid)
    assert (parts, tails) == (["lorem ipsum " * 5] * 3 + ["lorem_ipsum_" * 5], [""])
    await stream(saver, text, ["tail " * 2, "x" * 10])
    parts, tails = rows(store, sid)
    assert (parts[4:], tails) == (["tail tail "], ["x" * 10])


async def test_a_surviving_draft_is_recovered_whole(store: Store) -> None:
    sid = store.create_session("/w", "m", "ask").id
    store.append_message(sid, Message("user", "explain"))
    saver = DraftSaver(store, sid, interval=0)
    await stream(saver, [], ["The answer\nbegins ", "with"])
    recovered = store.recover_draft(sid)
    assert recovered is not None and recovered.interrupted
    assert recovered.message == Message("assistant", "The answer\nbegins with")
    assert rows(store, sid) == ([], [])


async def test_committing_the_reply_or_discarding_drops_every_part(store: Store) -> None:
    sid = store.create_session("/w", "m", "ask").id
    saver = DraftSaver(store, sid, interval=0)
    await stream(saver, [], ["a\n", "b\n", "c"])
    store.append_message(sid, Message("assistant", "a\nb\nc"))
    assert rows(store, sid) == ([], []) and store.draft(sid) is None
    saver = DraftSaver(store, sid, interval=0)
    await stream(saver, [], ["d\n", "e"])
    await saver.finish(discard=True)
    assert rows(store, sid) == ([], [])
    store.append_draft(sid, "x\n", "y")
    store.save_draft(sid, "whole")  # the old way still replaces everything
    assert rows(store, sid) == ([], ["whole"])


async def test_saves_are_throttled_to_the_interval(store: Store) -> None:
    sid = store.create_session("/w", "m", "ask").id
    saver = DraftSaver(store, sid, interval=3600)
    calls: list[Any] = []
    append = store.append_draft

    def spy(session_id: str, done: str, tail: str, *, restart: bool = False) -> None:
        calls.append(done)
        append(session_id, done, tail, restart=restart)

    store.append_draft = spy  # type: ignore[method-assign]
    text: list[str] = []
    for piece in ["a\n", "b\n", "c\n"]:
        text.append(piece)
        saver.update(text)
    await saver.finish()
    assert calls == ["a\n"]  # the first at once, the rest would wait an hour


@pytest.mark.parametrize("estimated", [False, True])
def test_model_calls_keep_the_estimate_mark(store: Store, estimated: bool) -> None:
    sid = store.create_session("/w", "m", "ask").id
    record = ModelCallRecord(
        model="m",
        request_bytes=10,
        message_count=2,
        latency_ms=5.0,
        retries=0,
        prompt_tokens=30,
        completion_tokens=4,
        finish_reason="stop",
        created_at=1.0,
        usage_estimated=estimated,
    )
    store.record_model_call(sid, record)
    assert store.model_calls(sid) == [record]
