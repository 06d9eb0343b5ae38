"""Running git on a shadow repository without touching the user's own.

Every call gets ``GIT_DIR``, ``GIT_WORK_TREE`` and ``GIT_INDEX_FILE`` pointing at the
shadow (never the workspace's ``.git``), no system or global config, hooks off, no
fsmonitor, no content filters or line-ending conversion, and no inherited ``GIT_*``
variables (a hermes started from a git hook must not aim at the user's repository).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hermes.checkpoints.objects import CheckpointError

SAFE_CONFIG = (
    "core.hooksPath=/dev/null",
    "safe.directory=*",  # the shadow is ours; the workspace is only read
    "core.autocrlf=false",
    "core.safecrlf=false",
    "core.fsmonitor=false",
    "core.untrackedCache=false",
    "core.symlinks=true",
    "core.fileMode=true",
    "core.quotePath=false",
    "core.precomposeUnicode=false",
    "core.sparseCheckout=false",
    "core.fsync=loose-object,pack,index",
    "core.fsyncMethod=batch",
    "gc.auto=0",
    "maintenance.auto=false",
    "index.version=4",
    "status.showUntrackedFiles=all",
)
ATTRIBUTES = "* -text -filter -ident -working-tree-encoding -eol\n"
"""The shadow's ``info/attributes``: it beats any ``.gitattributes``, so bytes round-trip."""
EXCLUDE = "# hermes checkpoints never store these\n/.hermes/\n.git\n"
"""The shadow's ``info/exclude``, read with the workspace's ``.gitignore`` files."""


@dataclass(frozen=True)
class Skipped:
    """A path a checkpoint did not store, and why."""

    path: str
    reason: str  # "ignored" | "over size limit (...)" | "outside the workspace" | ...


@dataclass(frozen=True)
class Snapshot:
    """The result of recording workspace state: a tree id and what was left out."""

    tree: str
    skipped: tuple[Skipped, ...] = ()


def shadow_dir(home: Path, workspace: Path) -> Path:
    """Where the shadow repository of ``workspace`` lives."""
    real = os.path.realpath(workspace)
    digest = hashlib.sha256(real.encode()).hexdigest()[:20]
    return home / "checkpoints" / f"{digest}.git"


def git_env(git_dir: Path, workspace: Path) -> dict[str, str]:
    """The environment of every git call on the shadow of ``workspace``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_DIR=str(git_dir),
        GIT_WORK_TREE=str(workspace),
        GIT_INDEX_FILE=str(git_dir / "hermes-index"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="hermes",
        GIT_AUTHOR_EMAIL="hermes@localhost",
        GIT_COMMITTER_NAME="hermes",
        GIT_COMMITTER_EMAIL="hermes@localhost",
        LC_ALL="C",
    )
    return env


def safe_config(workspace: Path) -> list[str]:
    """``-c`` settings for every call; the workspace's ``.git/info/exclude`` (read only)
    joins the ignore rules."""
    user_exclude = workspace / ".git" / "info" / "exclude"
    excludes = user_exclude if user_exclude.is_file() else os.devnull
    return [*SAFE_CONFIG, f"core.excludesFile={excludes}"]


def run_git(
    env: Mapping[str, str],
    workspace: Path,
    args: Sequence[str],
    *,
    stdin: bytes | None = None,
    ok: Sequence[int] | None = (0,),
    pass_fds: Sequence[int] = (),
) -> bytes:
    """Run git with the safe settings; returns stdout. An exit code outside ``ok`` is a
    CheckpointError (``ok=None``: any code is accepted)."""
    config = [item for c in safe_config(workspace) for item in ("-c", c)]
    try:
        run = subprocess.run(
            ["git", *config, *args],
            env=dict(env),
            cwd=workspace,
            input=stdin,
            capture_output=True,
            check=False,
            pass_fds=tuple(pass_fds),
        )
    except OSError as exc:
        raise CheckpointError(f"git could not run ({exc}); checkpoints need it") from exc
    if ok is not None and run.returncode not in ok:
        err = run.stderr.decode(errors="replace").strip()
        raise CheckpointError(f"git {args[0]} failed: {err}")
    return run.stdout


def nul_paths(paths: Iterable[str]) -> bytes:
    """Paths as git's ``-z --stdin`` input."""
    return b"".join(os.fsencode(p) + b"\0" for p in paths)


def describe(skipped: Iterable[Skipped]) -> list[dict[str, str]]:
    """Skipped paths as JSON-ready dicts."""
    return [{"path": s.path, "reason": s.reason} for s in skipped]


def undescribe(items: Iterable[Mapping[str, str]]) -> tuple[Skipped, ...]:
    """The inverse of :func:`describe`."""
    return tuple(Skipped(str(i.get("path", "")), str(i.get("reason", ""))) for i in items)
