"""Protected paths: places where a write changes what runs later, outside any approval.

A ``.git`` component (a folder, or a gitfile that points git somewhere else), a
``.hermes`` component (workspace configuration), the config, hooks and info of any git
directory (found by its shape, not its name), and hermes' own home. Writing there can
plant a hook, an fsmonitor command or a config change that runs the next time git or
hermes starts, so such writes ask in every mode. Names are compared in the normal form
of :mod:`hermes.safety.pathnames` (case, Unicode, trailing dots and spaces).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from hermes.paths import hermes_home
from hermes.safety.pathnames import is_named, normal_name, real, within

# Inside a git directory these decide what git runs (config, hooks, attributes in info/).
_GIT_DIR_CONTROL = frozenset({"config", "config.worktree", "hooks", "info", "commondir"})


def looks_like_git_dir(path: Path) -> bool:
    """Whether ``path`` is shaped like a git directory (git's own test: HEAD plus
    objects/ and refs/, or a linked worktree's gitdir/commondir files)."""
    try:
        if not (path / "HEAD").is_file():
            return False
        if (path / "commondir").is_file():
            return True
        return (path / "objects").is_dir() and (path / "refs").is_dir()
    except OSError:
        return False


def protected_reason(
    path: Path, home: Path | None = None, env: Mapping[str, str] | None = None
) -> str | None:
    """Why writing ``path`` (absolute) is protected, or None.

    Both the path as written and its real path (symlinks resolved) are checked. With
    ``env``, a folder on its ``$PATH`` is protected too: a file written there runs in
    place of the program of that name (an activated ``.venv/bin`` is in the workspace).
    """
    home = home if home is not None else hermes_home()
    candidates = [path]
    resolved = real(path)
    if resolved != path:
        candidates.append(resolved)
    for p in candidates:
        why = lexical_reason(p)
        if why:
            return why
    for p in candidates:
        if _inside_home(p, home):
            return f"writes hermes' own home ({home})"
        why = _git_dir_reason(p)
        if why:
            return why
    if env is not None:
        return _on_path_reason(resolved, env)
    return None


def _on_path_reason(path: Path, env: Mapping[str, str]) -> str | None:
    parent = path.parent
    for entry in (env.get("PATH") or "").split(os.pathsep):
        if entry and os.path.isabs(entry) and real(Path(entry)) == parent:
            return (
                f"writes {path.name} into {entry}, a folder on $PATH (it would run as {path.name})"
            )
    return None


def lexical_reason(path: Path) -> str | None:
    """Why ``path`` is protected by its components alone (no disk access), or None."""
    parts = path.parts
    for i, part in enumerate(parts):
        if is_named(part, ".git"):
            inner = "/".join(parts[i:])
            if i == len(parts) - 1:
                return (
                    f"writes {inner} (a .git folder or gitfile decides where git reads its config)"
                )
            return f"writes git internals ({inner})"
        if is_named(part, ".hermes"):
            return f"writes hermes configuration ({'/'.join(parts[i:])})"
        if normal_name(part).endswith(".git") and i + 1 < len(parts):
            if normal_name(parts[i + 1]) in _GIT_DIR_CONTROL:
                return f"writes the config or hooks of git repository {Path(*parts[: i + 1])}"
    return None


def _inside_home(path: Path, home: Path) -> bool:
    if within(path, home):
        return True
    resolved_home = real(home)
    return resolved_home != home and within(path, resolved_home)


def _git_dir_reason(path: Path) -> str | None:
    """The path is inside a directory shaped like a git directory (a bare repository,
    a gitfile target, a separate git dir)."""
    parents = list(path.parents)
    for parent in parents[:-1]:  # never the file system root
        if looks_like_git_dir(parent):
            rel = os.path.relpath(path, parent)
            return f"writes inside git directory {parent} ({rel})"
    return None
