"""Where a command will run: what lets the analysis consult the disk.

Without a :class:`ShellContext` the analysis is purely syntactic and strict: a glob, a
``cd``, an input redirection or a git command's configuration cannot be checked, so
they ask (or, for git, are judged by argv alone). With one, the analysis may expand a
glob against the folder, follow ``cd`` inside the workspace, check that an input file
is in the workspace, and read the git configuration the command would use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hermes.paths import hermes_home
from hermes.safety.pathnames import real, within

# Variables bash reads at start-up that change globbing or run code before the
# command: with any of them set, glob expansion cannot be predicted.
GLOB_AFFECTING_ENV = ("GLOBIGNORE", "BASHOPTS", "SHELLOPTS")


@dataclass(frozen=True)
class ShellContext:
    """The workspace, the folder a command starts in, and the environment it gets."""

    workspace: Path
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    home_dir: Path | None = None
    """hermes' own home (``$HERMES_HOME``); None: look it up."""

    @classmethod
    def create(
        cls,
        workspace: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        home_dir: Path | None = None,
    ) -> ShellContext:
        """A context with real (symlink-free) paths; ``cwd`` defaults to the workspace."""
        ws = real(workspace)
        start = real(cwd) if cwd is not None else ws
        return cls(ws, start, os.environ if env is None else env, home_dir)

    @property
    def hermes_home(self) -> Path:
        """hermes' own home."""
        return self.home_dir if self.home_dir is not None else hermes_home()

    @property
    def user_home(self) -> Path | None:
        """The folder ``~`` expands to in the command (``$HOME``)."""
        value = self.env.get("HOME")
        return Path(value) if value and os.path.isabs(value) else None

    def inside(self, path: Path) -> bool:
        """Whether ``path`` (absolute) is inside the workspace, symlinks resolved (an
        exact comparison: what this allows must really be inside)."""
        p = real(path)
        return p == self.workspace or self.workspace in p.parents

    def may_be_inside(self, path: Path) -> bool:
        """Whether ``path`` could be inside the workspace on a case-insensitive or
        normalising file system (for checks that make things stricter)."""
        return self.inside(path) or within(real(path), self.workspace)

    def path_dirs(self) -> list[str]:
        """The entries of ``$PATH``, in order ("" for an empty entry, which means ".")."""
        value = self.env.get("PATH")
        return value.split(os.pathsep) if value else []

    def program_problem(self, name: str) -> str | None:
        """Why the program bash would find for ``name`` (a word without ``/``) may be one
        the workspace supplies: a relative ``$PATH`` entry, or a match inside the
        workspace. Builtins are not looked up and never reach here."""
        for entry in self.path_dirs():
            if not entry or not os.path.isabs(entry):
                return f"$PATH has a relative entry ({entry or 'empty'}): {name} may be a workspace file"
            candidate = Path(entry) / name
            try:
                found = candidate.is_file() and os.access(candidate, os.X_OK)
            except OSError:
                found = False
            if found:
                if self.may_be_inside(candidate):
                    return f"{name} would run {candidate}, a file inside the workspace"
                return None
        return None

    def globs_predictable(self) -> bool:
        """Whether bash will expand globs with its defaults."""
        return not any(self.env.get(name) for name in GLOB_AFFECTING_ENV)
