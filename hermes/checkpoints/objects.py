"""Git objects for the checkpoint store, read and written in process.

A checkpoint of one file (before a ``write_file`` or ``patch``) must cost almost
nothing, so it never spawns git: the blob, the trees on its path and the commit are
written here as loose objects (zlib, temp file + fsync + rename), content-addressed so
an unchanged file or directory costs nothing twice. Objects git wrote (full-workspace
scans) are read the same way, or from a pack (:mod:`hermes.checkpoints.pack`); anything
else falls back to ``git cat-file``.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from hermes.checkpoints.pack import PackReader, write_pack
from hermes.durable import write_atomic

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""The id of git's empty tree (it is never written; reads of it return no entries)."""

TREE_MODE = "40000"
GITLINK_MODE = "160000"
SYMLINK_MODE = "120000"


class Entry(NamedTuple):
    """One file in a tree: git mode (``100644``, ``100755``, ``120000``) and blob id."""

    mode: str
    sha: str


class CheckpointError(Exception):
    """A checkpoint could not be taken or read; the message says why."""


class ObjectError(CheckpointError):
    """An object is missing or malformed in the checkpoint store."""


def blob_id(data: bytes) -> str:
    """The git blob id of ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def read_worktree_file(path: Path) -> tuple[str, bytes] | None:
    """``(mode, bytes)`` of a regular file or symlink as git would store it; None if absent.

    Raises ``IsADirectoryError`` (or ``OSError``) for anything else.
    """
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISLNK(st.st_mode):
        return SYMLINK_MODE, os.fsencode(os.readlink(path))
    if not stat.S_ISREG(st.st_mode):
        raise IsADirectoryError(f"{path} is not a regular file")
    mode = "100755" if st.st_mode & stat.S_IXUSR else "100644"
    return mode, path.read_bytes()


def current_entry(path: Path) -> Entry | None:
    """The entry the file at ``path`` would have now (hashed, not stored); None if absent."""
    found = read_worktree_file(path)
    if found is None:
        return None
    return Entry(found[0], blob_id(found[1]))


def _tree_key(item: tuple[str, Entry]) -> bytes:
    name, entry = item
    raw = os.fsencode(name)
    return raw + b"/" if entry.mode == TREE_MODE else raw


class ObjectStore:
    """The objects of one shadow repository (``git_dir``). Inside :meth:`batch`, new
    objects are kept in memory and stored together as one pack when it ends."""

    def __init__(self, git_dir: Path, git_env: Mapping[str, str] | None = None) -> None:
        self.git_dir = git_dir
        self.objects = git_dir / "objects"
        self._env = dict(git_env) if git_env is not None else None
        self._packs = PackReader(self.objects)
        self._trees: dict[str, dict[str, Entry]] = {}
        self._dirty_dirs: set[Path] = set()
        self._batch: dict[str, tuple[str, bytes]] | None = None

    # ------------------------------------------------------------------ raw objects

    def _path(self, sha: str) -> Path:
        return self.objects / sha[:2] / sha[2:]

    def has(self, sha: str) -> bool:
        """Whether the object is stored loose (packed objects are not looked for)."""
        return self._path(sha).exists()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Objects written inside are stored durably together when it ends (one pack,
        or one loose object if there is only one). Nested batches join the outer one."""
        if self._batch is not None:
            yield
            return
        self._batch = {}
        try:
            yield
            pending = self._batch
            if len(pending) == 1:
                ((sha, (kind, body)),) = pending.items()
                self._write_loose(sha, kind, body)
                self.sync()
            elif pending:
                write_pack(self.objects, pending)
        finally:
            self._batch = None

    def write(self, kind: str, body: bytes) -> str:
        """Store an object durably (fsynced; in a batch, when it ends); returns its id."""
        sha = hashlib.sha1(
            b"%s %d\0" % (kind.encode(), len(body)) + body, usedforsecurity=False
        ).hexdigest()
        if self._batch is None:
            self._write_loose(sha, kind, body)
        elif sha not in self._batch and not self._path(sha).exists():
            self._batch[sha] = (kind, body)  # a copy already in an older pack is harmless
        return sha

    def _write_loose(self, sha: str, kind: str, body: bytes) -> None:
        raw = b"%s %d\0" % (kind.encode(), len(body)) + body
        target = self._path(sha)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, zlib.compress(raw, 1), mode=0o444)
        self._dirty_dirs.add(target.parent)

    def sync(self) -> None:
        """Make the renames of objects written since the last call durable (dir fsync)."""
        dirs, self._dirty_dirs = self._dirty_dirs, set()
        for d in dirs:
            try:
                fd = os.open(d, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            except OSError:
                pass
            finally:
                os.close(fd)

    def read(self, sha: str, kind: str) -> bytes:
        """The body of object ``sha``, which must be of type ``kind``."""
        if self._batch and sha in self._batch:
            found_kind, body = self._batch[sha]
            if found_kind != kind:
                raise ObjectError(f"object {sha} is not a {kind}")
            return body
        try:
            raw = zlib.decompress(self._path(sha).read_bytes())
        except FileNotFoundError:
            try:
                packed = self._packs.read(sha)
            except (OSError, ValueError, zlib.error) as exc:
                raise ObjectError(f"object {sha} could not be read from a pack: {exc}") from exc
            if packed is not None and packed[0] == kind:
                return packed[1]
            return self._read_packed(sha, kind)
        except zlib.error as exc:
            raise ObjectError(f"object {sha} is corrupt: {exc}") from exc
        header, _, body = raw.partition(b"\0")
        if not header.startswith(kind.encode() + b" "):
            raise ObjectError(f"object {sha} is not a {kind}")
        return body

    def _read_packed(self, sha: str, kind: str) -> bytes:
        if self._env is None:
            raise ObjectError(f"object {sha} is missing from {self.git_dir}")
        try:
            run = subprocess.run(
                ["git", "cat-file", kind, sha], env=self._env, capture_output=True, check=False
            )
        except OSError as exc:
            raise ObjectError(f"object {sha} could not be read: {exc}") from exc
        if run.returncode != 0:
            raise ObjectError(f"object {sha} is missing from {self.git_dir}")
        return run.stdout

    # ------------------------------------------------------------------ blobs

    def write_blob(self, data: bytes) -> str:
        """Store file content; returns the blob id."""
        return self.write("blob", data)

    def read_blob(self, sha: str) -> bytes:
        """File content by blob id."""
        return self.read(sha, "blob")

    # ------------------------------------------------------------------ trees

    def read_tree(self, sha: str) -> dict[str, Entry]:
        """The entries of one tree (not recursive), by name. Cached: trees never change."""
        if sha == EMPTY_TREE:
            return {}
        cached = self._trees.get(sha)
        if cached is not None:
            return cached
        body = self.read(sha, "tree")
        out: dict[str, Entry] = {}
        i = 0
        while i < len(body):
            space = body.index(b" ", i)
            nul = body.index(b"\0", space)
            mode = body[i:space].decode()
            name = os.fsdecode(body[space + 1 : nul])
            out[name] = Entry(mode, body[nul + 1 : nul + 21].hex())
            i = nul + 21
        if len(self._trees) > 4096:
            self._trees.clear()
        self._trees[sha] = out
        return out

    def write_tree(self, entries: Mapping[str, Entry]) -> str:
        """Store a tree of ``entries`` (names without slashes); returns its id."""
        if not entries:
            return EMPTY_TREE
        parts = []
        for name, entry in sorted(entries.items(), key=_tree_key):
            parts.append(b"%s %s\0" % (entry.mode.encode(), os.fsencode(name)))
            parts.append(bytes.fromhex(entry.sha))
        sha = self.write("tree", b"".join(parts))
        self._trees[sha] = dict(entries)
        return sha

    def lookup(self, tree: str, path: str) -> Entry | None:
        """The entry at ``path`` (slash-separated) in ``tree``, or None."""
        names = path.split("/")
        current = tree
        for i, name in enumerate(names):
            entry = self.read_tree(current).get(name)
            if entry is None:
                return None
            if i == len(names) - 1:
                return None if entry.mode == TREE_MODE else entry
            if entry.mode != TREE_MODE:
                return None
            current = entry.sha
        return None

    def update_tree(self, tree: str, changes: Mapping[str, Entry | None]) -> str:
        """A new tree: ``tree`` with each path set to its entry (None removes it)."""
        if not changes:
            return tree
        entries = dict(self.read_tree(tree))
        nested: dict[str, dict[str, Entry | None]] = {}
        for path, entry in changes.items():
            head, sep, rest = path.partition("/")
            if sep:
                nested.setdefault(head, {})[rest] = entry
            elif entry is None:
                if head in entries and entries[head].mode != TREE_MODE:
                    del entries[head]
            else:
                entries[head] = entry
        for head, sub in nested.items():
            old = entries.get(head)
            base = old.sha if old is not None and old.mode == TREE_MODE else EMPTY_TREE
            new = self.update_tree(base, sub)
            if new == EMPTY_TREE:
                entries.pop(head, None)
            else:
                entries[head] = Entry(TREE_MODE, new)
        return self.write_tree(entries)

    def diff(
        self, a: str, b: str, prefix: str = ""
    ) -> dict[str, tuple[Entry | None, Entry | None]]:
        """Every file path whose entry differs between trees ``a`` and ``b``."""
        out: dict[str, tuple[Entry | None, Entry | None]] = {}
        if a == b:
            return out
        ta, tb = self.read_tree(a), self.read_tree(b)
        for name in ta.keys() | tb.keys():
            ea, eb = ta.get(name), tb.get(name)
            if ea == eb:
                continue
            path = prefix + name
            a_tree = ea is not None and ea.mode == TREE_MODE
            b_tree = eb is not None and eb.mode == TREE_MODE
            if a_tree or b_tree:
                sub_a = ea.sha if a_tree and ea is not None else EMPTY_TREE
                sub_b = eb.sha if b_tree and eb is not None else EMPTY_TREE
                out.update(self.diff(sub_a, sub_b, path + "/"))
            fa = None if a_tree else ea
            fb = None if b_tree else eb
            if fa != fb and GITLINK_MODE not in (getattr(fa, "mode", ""), getattr(fb, "mode", "")):
                out[path] = (fa, fb)
        return out

    # ------------------------------------------------------------------ commits

    def write_commit(self, tree: str, parents: Iterable[str], message: str) -> str:
        """Store a commit of ``tree``; returns its id."""
        stamp = f"hermes <hermes@localhost> {int(time.time())} +0000"
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents if p)]
        lines += [f"author {stamp}", f"committer {stamp}", "", message.rstrip("\n"), ""]
        return self.write("commit", "\n".join(lines).encode())

    def commit_tree(self, commit: str) -> str:
        """The tree id of a commit."""
        body = self.read(commit, "commit")
        first = body.split(b"\n", 1)[0]
        if not first.startswith(b"tree "):
            raise ObjectError(f"commit {commit} has no tree")
        return first[5:].decode()
