"""Path names as a file system may read them: one normal form for comparing names.

macOS (APFS/HFS+) and Windows (NTFS) compare names case-insensitively, HFS+ ignores
some invisible code points, NTFS drops trailing dots and spaces and reads ``name::$DATA``
as ``name``, and both accept differently composed Unicode for the same name. A check
that compares raw strings lets ``.GIT/hooks`` or ``.git.`` through on those systems, so
every safety check compares :func:`normal_name` forms. Pure functions, no I/O.
"""

from __future__ import annotations

import os
import posixpath
import unicodedata
from pathlib import Path

# Code points HFS+ ignores in names (git's is_hfs_dotgit list uses the same set).
_HFS_IGNORED = frozenset(
    "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u206a\u206b\u206c\u206d\u206e\u206f\ufeff"
)


def normal_name(name: str) -> str:
    """One path component in the form a case-insensitive, normalising file system sees.

    NFC, HFS+-ignored code points removed, an NTFS stream suffix (``::$DATA``, ``:x``)
    removed, trailing dots and spaces removed, then casefolded.
    """
    if not name.isascii():
        name = unicodedata.normalize("NFC", "".join(ch for ch in name if ch not in _HFS_IGNORED))
    if ":" in name:
        name = name.partition(":")[0] or name
    stripped = name.rstrip(". ")
    if stripped or not name.strip("."):
        name = stripped or name
    return name.casefold()


def normal_parts(path: str | Path) -> tuple[str, ...]:
    """The normal forms of every component of ``path`` (the root and empty parts dropped)."""
    text = os.fspath(path).replace("\\", "/")
    return tuple(normal_name(p) for p in text.split("/") if p and p != ".")


def is_named(name: str, wanted: str) -> bool:
    """Whether a component ``name`` is ``wanted`` (given in normal form), including the
    NTFS 8.3 short name of a dot-name (``GIT~1`` for ``.git``)."""
    n = normal_name(name)
    if n == wanted:
        return True
    return wanted.startswith(".") and n == f"{wanted[1:7]}~1"


def lexical_abspath(path: str | Path, cwd: Path) -> Path:
    """``path`` made absolute against ``cwd`` and normalised without touching the disk."""
    text = os.fspath(path)
    full = text if os.path.isabs(text) else os.path.join(os.fspath(cwd), text)
    return Path(posixpath.normpath(full)) if os.sep == "/" else Path(os.path.normpath(full))


def real(path: Path) -> Path:
    """``path`` with symlinks resolved; the path itself when that fails."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return path


def within(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it, comparing normal forms of components."""
    p, r = normal_parts(path), normal_parts(root)
    return len(p) >= len(r) and p[: len(r)] == r
