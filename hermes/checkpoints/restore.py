"""What a turn changed, and putting files back safely.

A turn's checkpoints give, for each file, its state before the agent first touched it
in that turn (the first checkpoint covering it) and what the agent left (the turn's
``post`` checkpoint). Undo writes the first back, redo the second; either only where
the file on disk is still what the other one says. A file the user changed since is a
:class:`Conflict`, resolved by the caller (keep mine / take checkpoint / skip) and never
overwritten silently.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hermes.checkpoints.objects import SYMLINK_MODE, Entry, current_entry
from hermes.checkpoints.records import CheckpointRecord
from hermes.checkpoints.shadow import ShadowRepo
from hermes.durable import current_umask, write_atomic
from hermes.protocol import ConflictChoice

CONFLICT_CHOICES: tuple[ConflictChoice, ...] = ("keep_mine", "take_checkpoint", "skip")


@dataclass(frozen=True)
class FileChange:
    """One file a turn changed: its entry before the turn and after (None: absent)."""

    path: str
    before: Entry | None
    after: Entry | None


@dataclass(frozen=True)
class TurnChanges:
    """Everything a turn did to workspace files, as far as checkpoints can tell."""

    turn: int
    changes: tuple[FileChange, ...]
    skipped: tuple[tuple[str, str], ...]  # (path, reason): written but not restorable
    uncovered: tuple[tuple[str, str], ...]  # (path, reason): left out of a workspace scan
    ran_commands: bool
    complete: bool  # False when the turn has no "post" checkpoint yet

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(c.path for c in self.changes)


@dataclass(frozen=True)
class Conflict:
    """A file that is neither what the agent left nor the checkpoint's version."""

    path: str
    turn: int
    reason: str
    user_diff: str  # what the user changed since the agent left it
    restore_diff: str  # what "take checkpoint" would do to the file now


@dataclass(frozen=True)
class Step:
    """One planned file restore: write ``target`` if the file is still ``current``."""

    path: str
    target: Entry | None
    current: Entry | None
    conflict: Conflict | None = None


def turn_changes(repo: ShadowRepo, turn: int, rows: Sequence[CheckpointRecord]) -> TurnChanges:
    """The file changes of ``turn`` from its checkpoints (in the order they were taken)."""
    pre: dict[str, Entry | None] = {}
    base_full: str | None = None
    skipped: dict[str, str] = {}
    uncovered: dict[str, str] = {}
    post: CheckpointRecord | None = None
    ran = False
    for row in rows:
        if row.kind == "post":
            post = row
            continue
        if row.kind not in ("write", "exec"):
            continue
        ran = ran or row.kind == "exec"
        _note_skipped(row, skipped, uncovered)
        tree = repo.tree_of(row.commit)
        if row.paths is None:
            base_full = base_full or tree
            continue
        for path in row.paths:
            if path in pre or base_full is not None or path in skipped:
                continue
            pre[path] = repo.objects.lookup(tree, path)
    if post is None:
        return TurnChanges(turn, (), tuple(sorted(skipped.items())), (), ran, complete=False)
    _note_skipped(post, skipped, uncovered)
    post_tree = repo.tree_of(post.commit)
    found: dict[str, FileChange] = {}
    for path, before in pre.items():
        after = repo.objects.lookup(post_tree, path)
        if before != after:
            found[path] = FileChange(path, before, after)
    if base_full is not None:
        for path, (a, b) in repo.objects.diff(base_full, post_tree).items():
            if path not in pre:
                found[path] = FileChange(path, a, b)
    changes = tuple(found[p] for p in sorted(found) if p not in skipped and p not in uncovered)
    return TurnChanges(
        turn,
        changes,
        tuple(sorted(skipped.items())),
        tuple(sorted((p, r) for p, r in uncovered.items() if p not in skipped)),
        ran,
        complete=True,
    )


def _note_skipped(
    row: CheckpointRecord, skipped: dict[str, str], uncovered: dict[str, str]
) -> None:
    for s in row.skipped:
        if row.paths is not None:
            skipped.setdefault(s.path, s.reason)
        elif s.reason != "ignored":
            uncovered.setdefault(s.path, s.reason)


def _text(repo: ShadowRepo, entry: Entry | None) -> str | None:
    if entry is None:
        return ""
    data = repo.objects.read_blob(entry.sha)
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def _disk_text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return ""
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def unified(path: str, old: str | None, new: str | None, old_label: str, new_label: str) -> str:
    """A unified diff of two texts (a note for binary content)."""
    if old is None or new is None:
        return f"Binary file {path} differs\n"
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        f"{old_label}/{path}",
        f"{new_label}/{path}",
    )
    return "".join(
        ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in lines
    )


def entry_diff(repo: ShadowRepo, path: str, before: Entry | None, after: Entry | None) -> str:
    """The unified diff between two stored versions of ``path``."""
    old_label = "a" if before is not None else "/dev/null"
    new_label = "b" if after is not None else "/dev/null"
    text = unified(path, _text(repo, before), _text(repo, after), "a", "b")
    if old_label == "/dev/null":
        text = text.replace(f"--- a/{path}", "--- /dev/null", 1)
    if new_label == "/dev/null":
        text = text.replace(f"+++ b/{path}", "+++ /dev/null", 1)
    return text


def plan(repo: ShadowRepo, tc: TurnChanges, *, redo: bool) -> list[Step]:
    """For each changed file: what to write, and whether the user changed it since."""
    steps: list[Step] = []
    for change in tc.changes:
        target, left = (change.after, change.before) if redo else (change.before, change.after)
        full = repo.workspace / change.path
        try:
            now = current_entry(full)
        except OSError:
            steps.append(
                Step(
                    change.path,
                    target,
                    None,
                    _conflict(repo, tc, change.path, left, target, "is not a regular file now"),
                )
            )
            continue
        if now == target:
            continue
        if now == left:
            steps.append(Step(change.path, target, now))
            continue
        why = "deleted" if now is None else "changed"
        reason = f"{why} since the {'undo' if redo else 'agent'} left it"
        steps.append(
            Step(change.path, target, now, _conflict(repo, tc, change.path, left, target, reason))
        )
    return steps


def _conflict(
    repo: ShadowRepo,
    tc: TurnChanges,
    path: str,
    left: Entry | None,
    target: Entry | None,
    reason: str,
) -> Conflict:
    disk = _disk_text(repo.workspace / path)
    user = unified(path, _text(repo, left), disk, "agent", "yours")
    restore = unified(path, disk, _text(repo, target), "yours", "checkpoint")
    return Conflict(path, tc.turn, reason, user, restore)


def apply(repo: ShadowRepo, steps: Iterable[Step]) -> tuple[list[str], list[tuple[str, str]]]:
    """Write each step's target if the file is still what the plan saw.

    Deletions go first (deepest first), then writes, so a file replaced by a directory
    (or the reverse) comes back. Returns (restored paths, [(skipped path, reason)]).
    """
    ordered = sorted(steps, key=lambda s: (s.target is not None, -s.path.count("/"), s.path))
    restored: list[str] = []
    skipped: list[tuple[str, str]] = []
    for step in ordered:
        full = repo.workspace / step.path
        try:
            if current_entry(full) != step.current:
                skipped.append((step.path, "changed again while restoring"))
                continue
            write_entry(repo, full, step.target)
        except OSError as exc:
            skipped.append((step.path, f"could not be written: {exc.strerror or exc}"))
            continue
        restored.append(step.path)
    return sorted(restored), skipped


def write_entry(repo: ShadowRepo, path: Path, entry: Entry | None) -> None:
    """Make ``path`` hold ``entry`` (atomically for files); None deletes it."""
    if entry is None:
        if os.path.lexists(path):
            path.unlink()
            _prune_empty(repo.workspace, path.parent)
        return
    data = repo.objects.read_blob(entry.sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    if entry.mode == SYMLINK_MODE:
        if os.path.lexists(path):
            path.unlink()
        os.symlink(os.fsdecode(data), path)
        return
    mode = (0o777 if entry.mode == "100755" else 0o666) & ~current_umask()
    if path.is_symlink():
        path.unlink()
    write_atomic(path, data, mode=mode)


def _prune_empty(root: Path, start: Path) -> None:
    """Remove directories left empty by a deletion, up to (not including) ``root``."""
    d = start
    while d != root and root in d.parents:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent
