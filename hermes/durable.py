"""Atomic, durable file writes: a temporary file beside the target, fsynced, renamed over it.

A reader sees the old file or the new one, never a part; after a crash or power loss the
file is one of the two. ``sync_dir`` makes the rename itself durable.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    owner: tuple[int, int] | None = None,
    sync_dir: bool = False,
) -> None:
    """Replace ``path`` with ``data``. ``mode``: the new file's permission bits (default
    0o666 less the umask); ``owner``: (uid, gid) to give it, when allowed; ``sync_dir``:
    also fsync the directory so the rename survives power loss."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _default_mode() if mode is None else mode)
        if owner is not None and owner != (os.getuid(), os.getgid()):
            try:
                os.chown(tmp, *owner)
            except OSError:
                pass
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make the entries of ``directory`` (renames, new files) durable; best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default_mode() -> int:
    return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (setting it, even
    briefly, races with threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old
