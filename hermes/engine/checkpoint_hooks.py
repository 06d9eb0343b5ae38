"""Checkpoints of the workspace, and /undo, /redo, /rewind and /diff for a live session.

Before the first write of a file in a turn (``write_file``, ``patch``), its current state
is recorded; before every command that is not proven read-only, the whole workspace is
(an incremental scan). Each checkpoint is a commit in the workspace's shadow repository
(:mod:`hermes.checkpoints.shadow`) and a row in the session database linked to the turn and
the tool call, and both are durable before the tool runs, so a crash after the change
still leaves a restorable checkpoint. When the turn ends, what the agent left is
recorded too; undo compares each file with it and asks before touching one the user
changed since.

Hooks (called by the engine and the turn loop): :func:`begin_turn`, :func:`before_call`,
:func:`end_turn`. Front ends: submit ``Undo``/``Redo``/``Rewind``/``ConflictReply`` ops;
for the /rewind list and /diff call :func:`list_turns` and :func:`diff`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hermes import protocol as p
from hermes.checkpoints import ops
from hermes.checkpoints import records as cs
from hermes.checkpoints.restore import Conflict, ConflictChoice
from hermes.checkpoints.shadow import CheckpointError, ShadowRepo, Skipped
from hermes.engine.view import rebuild_view
from hermes.messages import Message
from hermes.store.sessions import StoreError

if TYPE_CHECKING:
    from hermes.engine.state import SessionState
    from hermes.execution.executor import PreparedCall


@dataclass
class CheckpointTracker:
    """Per-session checkpoint state for the running turn (``SessionState.checkpoints``)."""

    repo: ShadowRepo | None
    turn: int = 0
    covered: set[str] = field(default_factory=set)
    full: bool = False
    taken: list[cs.CheckpointRecord] = field(default_factory=list)
    warned: bool = False
    warm: threading.Thread | None = None
    conflicts: dict[str, asyncio.Future[ConflictChoice]] = field(default_factory=dict)


def tracker(state: SessionState) -> CheckpointTracker:
    """The session's checkpoint state, ``state.checkpoints``: created on first use, when
    the shadow repository is opened (unless checkpoints are off)."""
    if state.checkpoints is None:
        cfg = state.config.checkpoints
        repo = ops.open_repo(state.workspace, cfg) if cfg.enabled else None
        state.checkpoints = CheckpointTracker(repo, turn=state.turns)
    return state.checkpoints


def _warn(state: SessionState, message: str) -> None:
    state.emit(p.Warning(f"checkpoint: {message}", kind="checkpoint"))


# ---------------------------------------------------------------------------- hooks


async def begin_turn(state: SessionState, prompt: str) -> None:
    """Record the turn about to start (so its number survives resume); warm the shadow
    index in the background on the first turn so the first command's scan is quick."""
    tr = tracker(state)
    if tr.taken:  # calls of a resumed turn ran first: record what they left
        await end_turn(state)
    elif not tr.turn and tr.repo is not None:
        await _settle_last_turn(state, tr.repo)
    try:
        rec = await asyncio.to_thread(cs.start_turn, state.store, state.id, prompt)
    except StoreError as exc:
        _warn(state, f"could not record the turn: {exc}")
        return
    state.turns = rec.turn - 1  # run_turn counts it
    tr.turn = rec.turn
    tr.covered.clear()
    tr.full = False
    tr.taken.clear()
    repo = tr.repo
    if repo is not None and tr.warm is None:
        tr.warm = threading.Thread(
            target=_warm, args=(repo,), name="hermes-checkpoint-warm", daemon=True
        )
        tr.warm.start()


async def _settle_last_turn(state: SessionState, repo: ShadowRepo) -> None:
    """A resumed session whose last turn was cut short (kill -9): record what it left
    now, the nearest we can get, before anything else changes the files."""
    try:
        last = await asyncio.to_thread(cs.last_turn, state.store, state.id)
        if last:
            await asyncio.to_thread(ops.finalize, state.store, repo, state.id, last)
    except (CheckpointError, StoreError, OSError) as exc:
        _warn(state, f"could not record what the interrupted turn left ({exc})")


def _warm(repo: ShadowRepo) -> None:
    try:
        repo.snapshot_all(list_ignored=False)
    except (CheckpointError, OSError):
        pass  # the real checkpoint reports it


async def before_call(state: SessionState, pc: PreparedCall) -> None:
    """Take the checkpoint a write or command needs, durably, before it runs."""
    tr = tracker(state)
    repo = tr.repo
    if repo is None or pc.error is not None:
        return
    try:
        if not tr.turn:  # calls of a resumed turn, offered again: that turn's number
            tr.turn = await asyncio.to_thread(cs.last_turn, state.store, state.id)
        turn = tr.turn
        if pc.tool_class == "exec":
            record = await asyncio.to_thread(_take_full, state, repo, turn, pc.call.id)
            tr.full = True
        elif pc.tool_class == "write" and pc.paths and not tr.full:
            rels, outside = [], []
            for path in pc.paths:
                rel = repo.relative(path)
                if rel is None:
                    outside.append(Skipped(str(path), "outside the workspace"))
                elif rel not in tr.covered:
                    rels.append(rel)
            if not rels and not outside:
                return
            record = await asyncio.to_thread(
                _take_paths, state, repo, turn, pc.call.id, tuple(rels), tuple(outside)
            )
            tr.covered.update(rels)
        else:
            return
    except (CheckpointError, StoreError, OSError) as exc:
        _warn(state, f"no checkpoint before {pc.call.name} ({exc}); it runs anyway")
        return
    tr.taken.append(record)


def _take_full(
    state: SessionState, repo: ShadowRepo, turn: int, call_id: str
) -> cs.CheckpointRecord:
    commit, snap = repo.record(state.id, None, f"turn {turn}: before {call_id} (workspace)")
    return cs.add_checkpoint(
        state.store, state.id, turn, call_id, "exec", commit, None, snap.skipped
    )


def _take_paths(
    state: SessionState,
    repo: ShadowRepo,
    turn: int,
    call_id: str,
    rels: tuple[str, ...],
    outside: tuple[Skipped, ...],
) -> cs.CheckpointRecord:
    commit, snap = repo.record(state.id, rels, f"turn {turn}: before {call_id}")
    skipped = (*snap.skipped, *outside)
    return cs.add_checkpoint(state.store, state.id, turn, call_id, "write", commit, rels, skipped)


async def end_turn(state: SessionState) -> None:
    """Record what the agent left, for the conflict check of a later undo."""
    tr = tracker(state)
    repo = tr.repo
    if repo is None or not tr.taken:
        return
    tr.taken = []
    try:
        await asyncio.to_thread(ops.record_post, state.store, repo, state.id, tr.turn)
    except (CheckpointError, StoreError, OSError) as exc:
        _warn(state, f"could not record the files the turn left ({exc})")


# ---------------------------------------------------------------------------- ops


Rebuild = Callable[[], Awaitable[None]]


async def run_op(
    state: SessionState, op: p.Undo | p.Redo | p.Rewind, rebuild: Rebuild | None = None
) -> None:
    """Carry out an Undo, Redo or Rewind op; emits ConflictFound, then UndoDone or
    RewindDone (or a Warning when there is nothing to do). ``rebuild`` reloads the
    model's view from the store after a conversation rewind (the engine's resume path,
    so compaction records apply); without it the plain rebuilt view is used."""
    tr = tracker(state)
    repo = tr.repo
    needs_repo = not isinstance(op, p.Rewind) or op.files
    if needs_repo and repo is None:
        state.emit(p.Warning("checkpoints are off (checkpoints.enabled); nothing to restore"))
        return
    try:
        if isinstance(op, p.Rewind):
            await _rewind(state, tr, repo, op, rebuild)
        else:
            assert repo is not None
            await _undo(state, tr, repo, op)
    except (CheckpointError, StoreError, OSError) as exc:
        state.emit(p.Error(f"could not restore files: {exc}"))
    finally:
        for future in tr.conflicts.values():
            future.cancel()
        tr.conflicts.clear()


async def _undo(
    state: SessionState, tr: CheckpointTracker, repo: ShadowRepo, op: p.Undo | p.Redo
) -> None:
    redo = isinstance(op, p.Redo)
    store, sid = state.store, state.id
    if isinstance(op, p.Undo):
        targets = await asyncio.to_thread(ops.undo_targets, store, repo, sid, max(1, op.turns))
    else:
        one = await asyncio.to_thread(ops.redo_target, store, repo, sid)
        targets = [] if one is None else [one]
    if not targets:
        state.emit(p.Warning(f"nothing to {'redo' if redo else 'undo'}"))
        return
    outcome = await ops.restore(
        store,
        repo,
        sid,
        targets,
        redo=redo,
        resolve=_asker(state, tr, "redo" if redo else "undo"),
    )
    await _tell_model(state, ops.note_message(outcome, redo=redo))
    state.emit(
        p.UndoDone(
            turns=tuple(outcome.turns),
            files_restored=tuple(outcome.restored),
            files_skipped=tuple(path for path, _ in outcome.skipped),
            note=outcome.note(),
            redo=redo,
            details=ops.describe_skipped(outcome.skipped),
        )
    )


async def _rewind(
    state: SessionState,
    tr: CheckpointTracker,
    repo: ShadowRepo | None,
    op: p.Rewind,
    rebuild: Rebuild | None,
) -> None:
    store, sid = state.store, state.id
    turns = await asyncio.to_thread(cs.turns, store, sid)
    chosen = next((t for t in turns if t.turn == op.turn), None)
    if chosen is None:
        state.emit(p.Warning(f"no turn {op.turn} in this session"))
        return
    outcome = ops.Outcome()
    if op.files and repo is not None:
        later = [t.turn for t in reversed(turns) if t.turn >= op.turn and not t.undone]
        await ops.restore(
            store,
            repo,
            sid,
            later,
            redo=False,
            resolve=_asker(state, tr, "rewind"),
            outcome=outcome,
        )
    if op.conversation:
        await asyncio.to_thread(cs.rewind_conversation, store, sid, chosen)
        state.queued_user.clear()
        if rebuild is not None:
            await rebuild()
        else:
            stored = await asyncio.to_thread(store.load_messages, sid)
            state.history = list(rebuild_view(stored).messages)
    elif outcome.turns:
        await _tell_model(state, ops.note_message(outcome, redo=False, rewind_to=op.turn))
    state.emit(
        p.RewindDone(
            turn=op.turn,
            files=op.files,
            conversation=op.conversation,
            files_restored=tuple(outcome.restored),
            files_skipped=tuple(path for path, _ in outcome.skipped),
            prompt=chosen.prompt,
            note=outcome.note(),
        )
    )


async def _tell_model(state: SessionState, message: Message) -> None:
    await state.commit(message)
    state.history.append(message)


def _asker(state: SessionState, tr: CheckpointTracker, operation: str) -> ops.Resolve:
    async def ask(conflict: Conflict) -> ConflictChoice:
        if not state.interactive:
            return "skip"
        future: asyncio.Future[ConflictChoice] = asyncio.get_running_loop().create_future()
        tr.conflicts[conflict.path] = future
        state.emit(
            p.ConflictFound(
                path=conflict.path,
                turn=conflict.turn,
                operation=operation,
                reason=conflict.reason,
                user_diff=conflict.user_diff,
                restore_diff=conflict.restore_diff,
            )
        )
        try:
            return await future
        finally:
            tr.conflicts.pop(conflict.path, None)

    return ask


def reply_conflict(state: SessionState, op: p.ConflictReply) -> None:
    """Deliver the answer to a ConflictFound event."""
    tr = tracker(state)
    future = tr.conflicts.get(op.path)
    if future is None or future.done():
        state.emit(p.Warning(f"no conflict is waiting for an answer about {op.path}"))
        return
    future.set_result(op.choice)


# ---------------------------------------------------------------------------- views


async def list_turns(state: SessionState) -> list[ops.TurnSummary]:
    """The session's turns for the /rewind picker: prompt, time, files changed."""
    repo = tracker(state).repo
    return await asyncio.to_thread(ops.summaries, state.store, repo, state.id)


async def diff(state: SessionState, turn: int | None = None) -> str:
    """Unified diff of the agent's changes this session (or in one turn), for /diff."""
    repo = tracker(state).repo
    if repo is None:
        return ""
    return await asyncio.to_thread(ops.diff_text, state.store, repo, state.id, turn)
