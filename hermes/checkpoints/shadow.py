"""The shadow repository: one bare git repository per workspace under ``HERMES_HOME``.

Checkpoints are commits in ``$HERMES_HOME/checkpoints/<hash of the workspace>.git``,
driven with ``--work-tree=<workspace>`` and a private index inside the shadow directory.
The user's ``.git`` (HEAD, index, branches, stash, hooks, config) is never read for
writing or touched: every git call runs with ``GIT_DIR``/``GIT_INDEX_FILE`` pointing at the
shadow, no system or global config, hooks off, and no content filters (the shadow's
``info/attributes`` unsets ``text``/``filter``/``ident`` so bytes round-trip exactly).

The workspace's ``.gitignore`` files (and its ``.git/info/exclude``) decide what is
skipped; ``.git`` and ``.hermes`` never enter a checkpoint; files over the size limit
are skipped and listed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hermes.checkpoints.git import (
    ATTRIBUTES,
    EXCLUDE,
    Skipped,
    Snapshot,
    describe,
    git_env,
    nul_paths,
    run_git,
    safe_config,
    shadow_dir,
    undescribe,
)
from hermes.checkpoints.objects import (
    EMPTY_TREE,
    CheckpointError,
    Entry,
    ObjectStore,
    read_worktree_file,
)
from hermes.checkpoints.pack import should_repack

__all__ = [
    "CheckpointError",
    "ShadowRepo",
    "Skipped",
    "Snapshot",
    "describe",
    "shadow_dir",
    "undescribe",
]

_BULK = 200
REF_PREFIX = "refs/hermes/sessions/"
"""Each session's ref; its history keeps every checkpoint commit of the session reachable."""


class ShadowRepo:
    """The checkpoint store of one workspace. Methods block; call them from a worker."""

    def __init__(self, home: Path, workspace: Path, *, max_file_bytes: int, max_files: int) -> None:
        self.workspace = Path(os.path.realpath(workspace))
        self.git_dir = shadow_dir(home, self.workspace)
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.env = git_env(self.git_dir, self.workspace)
        self.objects = ObjectStore(self.git_dir, self.env)
        self._ready = False
        self._lock_fd: int | None = None
        self._scanned: str | None = None  # the tree of the latest workspace scan
        self._scanned_at: tuple[int, int, int] | None = None  # the index it came from

    # ------------------------------------------------------------------ plumbing

    def git(self, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
        """Run git on the shadow repository; returns stdout."""
        return run_git(
            self.env,
            self.workspace,
            args,
            stdin=stdin,
            ok=(0,) if check else None,
            pass_fds=() if self._lock_fd is None else (self._lock_fd,),
        )

    def _c(self) -> list[str]:
        return [item for c in safe_config(self.workspace) for item in ("-c", c)]

    def ensure(self) -> None:
        """Create the shadow repository on first use."""
        if self._ready:
            return
        if not (self.git_dir / "HEAD").exists():
            self.git_dir.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.git_dir.with_suffix(f".tmp{os.getpid()}")
            env = {k: v for k, v in self.env.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
            try:
                subprocess.run(
                    ["git", "init", "-q", "--bare", "--template=", str(tmp)],
                    env=env,
                    capture_output=True,
                    check=True,
                )
            except (OSError, subprocess.CalledProcessError) as exc:
                raise CheckpointError(
                    f"could not create {self.git_dir} (is git installed?)"
                ) from exc
            (tmp / "info").mkdir(exist_ok=True)
            (tmp / "info" / "attributes").write_text(ATTRIBUTES)
            (tmp / "info" / "exclude").write_text(EXCLUDE + self._home_exclude())
            (tmp / "hermes-workspace").write_text(str(self.workspace) + "\n")
            try:
                os.rename(tmp, self.git_dir)
            except OSError:  # another process created it first
                shutil.rmtree(tmp, ignore_errors=True)
        self._ready = True

    def _home_exclude(self) -> str:
        """HERMES_HOME itself, when it lies inside the workspace, is never recorded."""
        rel = self.relative(self.git_dir.parent.parent)
        return f"/{rel}/\n" if rel else ""

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive use of the shadow index (other sessions may share the repo).

        git children inherit the lock, so one left running by a hermes that exited (or was
        killed) still holds it; whoever holds the lock may thus clear a stale index.lock.
        """
        self.ensure()
        fd = os.open(self.git_dir / "hermes.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            (self.git_dir / "hermes-index.lock").unlink(missing_ok=True)
            self._lock_fd = fd
            yield
        finally:
            self._lock_fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def relative(self, path: Path) -> str | None:
        """``path`` relative to the workspace (slash-separated), or None if outside it
        (or not a possible file name, e.g. with a NUL byte)."""
        try:
            rel = Path(os.path.realpath(path)).relative_to(self.workspace)
        except ValueError:
            return None
        text = rel.as_posix()
        return None if text in ("", ".") else text

    # ------------------------------------------------------------------ snapshots

    def ignored(self, rels: Iterable[str]) -> set[str]:
        """Which of ``rels`` the workspace's ignore rules (or ours) exclude."""
        paths = list(rels)
        if not paths:
            return set()
        # exit 1: nothing ignored; anything else: unsure, so nothing is stored
        out = run_git(
            self.env,
            self.workspace,
            ("check-ignore", "-z", "--stdin"),
            stdin=nul_paths(paths),
            ok=(0, 1),
        )
        return {p for p in out.decode(errors="surrogateescape").split("\0") if p}

    def snapshot_paths(self, base_tree: str, rels: Iterable[str]) -> Snapshot:
        """``base_tree`` with each of ``rels`` set to what it is now (in process, no scan)."""
        self.ensure()
        wanted = sorted(set(rels))
        skipped = [
            Skipped(rel, "ignored")
            for rel in sorted(self.ignored(self._unknown(base_tree, wanted)))
        ]
        blocked = {s.path for s in skipped}
        changes: dict[str, Entry | None] = {}
        with self.objects.batch():  # blobs and trees become durable together
            for rel in wanted:
                if rel in blocked:
                    continue
                reason = "hermes or git internals" if _internal(rel) else self._too_big(rel)
                try:
                    found = None if reason else read_worktree_file(self.workspace / rel)
                except OSError:
                    reason = "not a regular file"
                if reason:
                    skipped.append(Skipped(rel, reason))
                    continue
                changes[rel] = (
                    None if found is None else Entry(found[0], self.objects.write_blob(found[1]))
                )
            tree = self.objects.update_tree(base_tree, changes)
        return Snapshot(tree, tuple(skipped))

    def _unknown(self, base_tree: str, rels: list[str]) -> list[str]:
        """The paths no checkpoint holds yet. Only those can be ignored: like git, a path
        once recorded stays recorded (and asking git costs a process)."""
        trees = [t for t in (base_tree, self._scanned) if t]
        return [r for r in rels if all(self.objects.lookup(t, r) is None for t in trees)]

    def _too_big(self, rel: str) -> str:
        try:
            st = os.lstat(self.workspace / rel)
        except OSError:
            return ""
        if stat.S_ISREG(st.st_mode) and st.st_size > self.max_file_bytes:
            return f"over size limit ({st.st_size:,} bytes > {self.max_file_bytes:,})"
        return ""

    def snapshot_all(self, *, list_ignored: bool = True) -> Snapshot:
        """The whole workspace (ignored files aside): an incremental scan with the
        private index, which re-hashes only files whose stat data changed."""
        with self.lock():
            scan = subprocess.Popen(
                ["git", *self._c(), "ls-files", "-z", "-t", "-m", "-d", "-o", "--exclude-standard"],
                env=self.env,
                cwd=self.workspace,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=() if self._lock_fd is None else (self._lock_fd,),
            )
            ignored_out = b""
            if list_ignored:
                ignored_out = self.git(
                    "ls-files", "-z", "-o", "-i", "--exclude-standard", "--directory", check=False
                )
            out, err = scan.communicate()
            if scan.returncode != 0:
                raise CheckpointError(f"git ls-files failed: {err.decode(errors='replace')}")
            changed: dict[str, bool] = {}  # path: whether the index holds it
            for item in out.decode(errors="surrogateescape").split("\0"):
                if len(item) > 2:
                    tracked = changed.get(item[2:], False) or item[0] != "?"
                    changed[item[2:]] = tracked
            if len(changed) > self.max_files:
                raise CheckpointError(
                    f"the workspace has more than {self.max_files:,} changed or new files "
                    "(checkpoints.max_files); no checkpoint was taken"
                )
            skipped = [
                Skipped(p, "ignored")
                for p in sorted(ignored_out.decode(errors="surrogateescape").split("\0"))
                if p and not _internal(p.rstrip("/"))
            ]
            update, force_remove = self._classify(changed, skipped)
            if update:
                # Many new files (the first scan): one pack instead of a loose file each.
                bulk = ["-c", "core.bigFileThreshold=1"] if len(update) > _BULK else []
                self.git(
                    *bulk,
                    "update-index",
                    "--add",
                    "--remove",
                    "-z",
                    "--stdin",
                    stdin=nul_paths(update),
                )
            if force_remove:
                self.git(
                    "update-index", "--force-remove", "-z", "--stdin", stdin=nul_paths(force_remove)
                )
            index = self._index_stamp()
            if update or force_remove or self._scanned is None or index != self._scanned_at:
                self._scanned = self.git("write-tree").decode().strip()
                self._scanned_at = self._index_stamp()
            tree = self._scanned
        return Snapshot(tree, tuple(skipped))

    def _index_stamp(self) -> tuple[int, int, int] | None:
        """Identifies the private index as written; another session's write changes it."""
        try:
            st = os.stat(self.git_dir / "hermes-index")
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _classify(
        self, changed: dict[str, bool], skipped: list[Skipped]
    ) -> tuple[list[str], list[str]]:
        """Paths to (re)hash or drop from the index, and paths to drop (``force_remove``:
        only those the index holds; an untracked one is simply not added)."""
        update: list[str] = []
        force_remove: list[str] = []
        for rel, tracked in sorted(changed.items()):
            drop = force_remove if tracked else []
            if rel.endswith("/"):
                skipped.append(Skipped(rel, "nested git repository"))
                continue
            if _internal(rel):
                drop.append(rel)
                continue
            try:
                st = os.lstat(self.workspace / rel)
            except OSError:
                update.append(rel)  # gone: --remove drops it
                continue
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                drop.append(rel)
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size > self.max_file_bytes:
                skipped.append(
                    Skipped(
                        rel, f"over size limit ({st.st_size:,} bytes > {self.max_file_bytes:,})"
                    )
                )
                drop.append(rel)
                continue
            update.append(rel)
        return update, force_remove

    def commit(self, session_id: str, tree: str, message: str) -> str:
        """Store a commit of ``tree`` (in process) on the session's ref; returns its id."""
        self.ensure()
        parent = self.head(session_id)
        with self.objects.batch():
            sha = self.objects.write_commit(tree, [parent] if parent else [], message)
        self._set_ref(session_id, sha)
        return sha

    def record(
        self, session_id: str, rels: Iterable[str] | None, message: str
    ) -> tuple[str, Snapshot]:
        """A checkpoint commit on the session's ref: of ``rels`` (the session's last
        commit with those files as they are now: blob, trees and commit stored as one
        pack, two fsyncs) or, for None, of the whole workspace (an incremental scan)."""
        if rels is None:
            snap = self.snapshot_all()
            return self.commit(session_id, snap.tree, message), snap
        self.ensure()
        parent = self.head(session_id)
        with self.objects.batch():
            snap = self.snapshot_paths(self.tree_of(parent), rels)
            sha = self.objects.write_commit(snap.tree, [parent] if parent else [], message)
        self._set_ref(session_id, sha)
        return sha, snap

    def maybe_repack(self) -> threading.Thread | None:
        """Merge the packs in the background once they are many (never drops objects)."""
        if not should_repack(self.objects.objects):
            return None
        thread = threading.Thread(
            target=self.git,
            args=("repack", "-a", "-d", "-k", "-q", "--window=0"),
            kwargs={"check": False},
            name="hermes-checkpoint-repack",
            daemon=True,
        )
        thread.start()
        return thread

    def _set_ref(self, session_id: str, sha: str) -> None:
        """Point the session's ref at ``sha`` (a plain ref file, replaced atomically)."""
        ref = self.git_dir / (REF_PREFIX + session_id)
        ref.parent.mkdir(parents=True, exist_ok=True)
        tmp = ref.with_name(f".{ref.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as f:  # not fsynced: the database row is the record; the ref
            f.write(sha + "\n")  # only keeps the commits reachable for git's tools
        os.replace(tmp, ref)

    def head(self, session_id: str) -> str | None:
        """The latest checkpoint commit of the session in this workspace, if any."""
        try:
            return (self.git_dir / (REF_PREFIX + session_id)).read_text().strip() or None
        except OSError:
            return None

    def tree_of(self, commit: str | None) -> str:
        """The tree of ``commit`` (the empty tree for None)."""
        return self.objects.commit_tree(commit) if commit else EMPTY_TREE


def _internal(rel: str) -> bool:
    first = rel.split("/", 1)[0]
    return first == ".hermes" or ".git" in rel.split("/")
