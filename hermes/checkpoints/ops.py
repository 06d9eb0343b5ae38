"""Undo, redo, rewind and diff over a session's checkpoints; shared by the engine and the
``hermes sessions`` commands. Conflicts go to an async ``resolve`` callback: the engine
asks the person, the headless commands skip (never overwrite)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hermes.checkpoints import records as cs
from hermes.checkpoints.objects import Entry
from hermes.checkpoints.restore import (
    Conflict,
    ConflictChoice,
    Step,
    TurnChanges,
    apply,
    entry_diff,
    plan,
    turn_changes,
)
from hermes.checkpoints.shadow import CheckpointError, ShadowRepo
from hermes.config import CheckpointsConfig
from hermes.messages import Message
from hermes.paths import hermes_home
from hermes.store.sessions import Store

Resolve = Callable[[Conflict], Awaitable[ConflictChoice]]

COMMAND_NOTE = (
    "files restored; the command's other effects, e.g. installed packages, are not undone"
)


async def skip_all(conflict: Conflict) -> ConflictChoice:
    """The headless resolver: a file the user changed is never overwritten."""
    return "skip"


def open_repo(workspace: Path, config: CheckpointsConfig) -> ShadowRepo:
    """The shadow repository of ``workspace`` (created on first use)."""
    return ShadowRepo(
        hermes_home(), workspace, max_file_bytes=config.max_file_bytes, max_files=config.max_files
    )


@dataclass(frozen=True)
class TurnSummary:
    """One row of the /rewind list."""

    turn: int
    prompt: str
    created_at: float
    files: tuple[str, ...]
    ran_commands: bool
    undone: bool
    rewound: bool


@dataclass
class Outcome:
    """What an undo, redo or rewind did."""

    turns: list[int] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ran_commands: bool = False
    redo: bool = False

    def note(self) -> str:
        """One line for the user."""
        parts = list(self.notes)
        if self.ran_commands and self.restored and not self.redo:
            parts.append(COMMAND_NOTE)
        return "; ".join(parts)


def finalize(store: Store, repo: ShadowRepo, session_id: str, turn: int) -> bool:
    """Give a turn that never recorded what the agent left (hermes stopped mid-turn) a
    ``post`` checkpoint of the files as they are now. Returns True if it did."""
    rows = cs.checkpoints(store, session_id, turn)
    if any(r.kind == "post" for r in rows):
        return False
    return record_post(store, repo, session_id, turn) is not None


def record_post(
    store: Store, repo: ShadowRepo, session_id: str, turn: int
) -> cs.CheckpointRecord | None:
    """Record what the turn left: the whole workspace if a command ran in it, else the
    files it wrote. None when the turn took no checkpoint."""
    pre = [r for r in cs.checkpoints(store, session_id, turn) if r.kind in ("write", "exec")]
    if not pre:
        return None
    paths = None
    if all(r.paths is not None for r in pre):
        paths = tuple(sorted({p for r in pre for p in r.paths or ()}))
    commit, snap = repo.record(session_id, paths, f"turn {turn}: after")
    repo.maybe_repack()
    return cs.add_checkpoint(store, session_id, turn, "", "post", commit, paths, snap.skipped)


def changes_of(
    store: Store, repo: ShadowRepo, session_id: str, turn: int, *, finish: bool = True
) -> TurnChanges:
    """A turn's file changes; a turn cut short by a crash is finalized first."""
    if finish:
        finalize(store, repo, session_id, turn)
    return turn_changes(repo, turn, cs.checkpoints(store, session_id, turn))


def summaries(store: Store, repo: ShadowRepo | None, session_id: str) -> list[TurnSummary]:
    """Every turn of the session with the files it changed (for /rewind)."""
    out = []
    for t in cs.turns(store, session_id):
        files: tuple[str, ...] = ()
        ran = False
        if repo is not None:
            tc = changes_of(store, repo, session_id, t.turn, finish=False)
            files, ran = tc.paths, tc.ran_commands
        out.append(TurnSummary(t.turn, t.prompt, t.created_at, files, ran, t.undone, t.rewound))
    return out


def diff_text(store: Store, repo: ShadowRepo, session_id: str, turn: int | None = None) -> str:
    """Unified diff of what the agent changed in the session (or in one turn), leaving out
    undone turns: each file from before the agent first touched it to what it last left."""
    first: dict[str, Entry | None] = {}
    last: dict[str, Entry | None] = {}
    for t in cs.turns(store, session_id):
        if (turn is not None and t.turn != turn) or (turn is None and t.undone):
            continue
        for change in changes_of(store, repo, session_id, t.turn, finish=False).changes:
            first.setdefault(change.path, change.before)
            last[change.path] = change.after
    parts = []
    for path in sorted(first):
        before, after = first[path], last[path]
        if before != after:
            parts.append(entry_diff(repo, path, before, after))
    return "".join(parts)


def undo_targets(store: Store, repo: ShadowRepo, session_id: str, count: int) -> list[int]:
    """The latest ``count`` turns whose file changes are not undone, newest first."""
    found: list[int] = []
    for t in reversed(cs.turns(store, session_id)):
        if len(found) >= count:
            break
        if t.undone:
            continue
        if changes_of(store, repo, session_id, t.turn).changes:
            found.append(t.turn)
    return found


def redo_target(store: Store, repo: ShadowRepo, session_id: str) -> int | None:
    """The earliest undone turn with no later turn that changed files (the redo stack)."""
    target = None
    for t in reversed(cs.turns(store, session_id)):
        if t.undone:
            target = t.turn
        elif changes_of(store, repo, session_id, t.turn, finish=False).changes:
            break
    return target


async def restore(
    store: Store,
    repo: ShadowRepo,
    session_id: str,
    turns: Sequence[int],
    *,
    redo: bool,
    resolve: Resolve,
    outcome: Outcome | None = None,
) -> Outcome:
    """Undo (or redo) ``turns`` in the order given, asking ``resolve`` about conflicts."""
    out = outcome or Outcome()
    out.redo = redo
    for turn in turns:
        tc = await asyncio.to_thread(changes_of, store, repo, session_id, turn)
        if not tc.changes and not tc.skipped:
            continue  # the turn changed no files
        steps = await asyncio.to_thread(plan, repo, tc, redo=redo)
        chosen: list[Step] = []
        for step in steps:
            if step.conflict is None:
                chosen.append(step)
                continue
            choice = await resolve(step.conflict)
            if choice == "take_checkpoint":
                chosen.append(Step(step.path, step.target, step.current))
            else:
                why = "kept your version" if choice == "keep_mine" else step.conflict.reason
                out.skipped.append((step.path, why))
        restored, failed = await asyncio.to_thread(
            _apply_with_backup, store, repo, session_id, turn, chosen, redo
        )
        out.turns.append(turn)
        out.restored.extend(p for p in restored if p not in out.restored)
        out.skipped.extend(failed)
        out.skipped.extend((p, f"not restorable: {r}") for p, r in tc.skipped)
        out.ran_commands = out.ran_commands or tc.ran_commands
        await asyncio.to_thread(cs.set_undone, store, session_id, turn, not redo)
    return out


def _apply_with_backup(
    store: Store,
    repo: ShadowRepo,
    session_id: str,
    turn: int,
    steps: list[Step],
    redo: bool,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Record the files about to be overwritten (an ``undo``/``redo`` checkpoint), then
    write them."""
    if not steps:
        return [], []
    paths = tuple(s.path for s in steps)
    kind: cs.CheckpointKind = "redo" if redo else "undo"
    commit, snap = repo.record(session_id, paths, f"turn {turn}: before {kind}")
    cs.add_checkpoint(store, session_id, turn, "", kind, commit, paths, snap.skipped)
    return apply(repo, steps)


def note_message(outcome: Outcome, *, redo: bool, rewind_to: int | None = None) -> Message:
    """The message that tells the model its file changes were undone or redone."""
    what = "redid" if redo else "undid"
    turns = ", ".join(str(t) for t in outcome.turns)
    if rewind_to is not None:
        head = f"[hermes: the user restored the files to how they were before turn {rewind_to}"
    else:
        head = f"[hermes: the user {what} the file changes of turn {turns}"
    files = ", ".join(outcome.restored[:50]) or "none"
    more = f" (+{len(outcome.restored) - 50} more)" if len(outcome.restored) > 50 else ""
    kept = ", ".join(p for p, _ in outcome.skipped[:20])
    tail = f"; left as they are: {kept}" if kept else ""
    return Message(
        role="user",
        content=f"{head}. Files now restored: {files}{more}{tail}. Check a file's current "
        "content before editing it again.]",
    )


def describe_skipped(skipped: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """``path: reason`` lines."""
    return tuple(f"{p}: {r}" for p, r in skipped)


__all__ = [
    "COMMAND_NOTE",
    "CheckpointError",
    "Outcome",
    "Resolve",
    "TurnSummary",
    "changes_of",
    "describe_skipped",
    "diff_text",
    "finalize",
    "note_message",
    "open_repo",
    "record_post",
    "redo_target",
    "restore",
    "skip_all",
    "summaries",
    "undo_targets",
]
