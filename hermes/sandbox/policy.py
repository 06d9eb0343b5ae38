"""What a sandboxed command may touch: the policy, resolved to real paths.

:func:`build_policy` turns the ``sandbox`` config section and a workspace into a
:class:`SandboxPolicy`: the writable roots (the workspace, the git directory it commits
to, ``sandbox.writable_roots``), the paths to hide (hermes' own home with the session
database, credentials, keyrings, browser profiles, agent sockets, ``sandbox.hide``), the
paths kept read-only inside a writable root (git hooks and config, which would run
programs outside the sandbox later, and the workspace's ``.hermes``), and the network.
Backends (:mod:`hermes.sandbox.bubblewrap`, :mod:`hermes.sandbox.landlock`) enforce it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hermes import paths
from hermes.config import NetworkAccess, SandboxConfig, SandboxMode

HIDDEN_IN_HOME: tuple[str, ...] = (
    # credentials
    ".ssh",
    ".aws",
    ".azure",
    ".gnupg",
    ".config/gh",
    ".config/hub",
    ".config/gcloud",
    ".netrc",
    ".git-credentials",
    ".docker/config.json",
    ".kube",
    ".pypirc",
    ".npmrc",
    ".password-store",
    # keyrings
    ".local/share/keyrings",
    ".pki",
    # browser profiles
    ".mozilla",
    ".config/google-chrome",
    ".config/chromium",
    ".config/BraveSoftware",
    ".config/microsoft-edge",
    ".config/vivaldi",
    "snap/firefox",
    "snap/chromium",
)
"""Hidden under ``$HOME``: credentials, keyrings and browser profiles."""

HIDDEN_SYSTEM: tuple[str, ...] = (
    # A container engine's socket is root on the host: `docker run -v /:/host`.
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/podman",
    "/run/containerd/containerd.sock",
    "/var/run/libvirt",
)


@dataclass(frozen=True)
class SandboxPolicy:
    """What a command may touch. Paths are absolute and real (symlinks resolved).

    ``mode``: ``workspace-write`` (``writable_roots`` and a private ``/tmp`` writable),
    ``read-only`` (only a private ``/tmp``) or ``off``. ``hidden`` paths are replaced by
    an empty directory (or an empty file); ``protected`` paths stay read-only inside a
    writable root. ``network`` ``off`` leaves only the sandbox's own loopback."""

    mode: SandboxMode
    workspace: Path
    writable_roots: tuple[Path, ...] = ()
    network: NetworkAccess = "off"
    hidden: tuple[Path, ...] = ()
    protected: tuple[Path, ...] = ()

    @property
    def enforced(self) -> bool:
        """Whether anything is confined at all."""
        return self.mode != "off"

    def writable(self, path: Path) -> bool:
        """Whether ``path`` lies in a writable root (and is neither hidden nor protected)."""
        real = _real(path)
        if any(_within(real, h) for h in (*self.hidden, *self.protected)):
            return False
        return any(_within(real, root) for root in self.writable_roots)

    def is_hidden(self, path: Path) -> bool:
        """Whether ``path`` is hidden (or lies in a hidden directory)."""
        real = _real(path)
        return any(_within(real, h) for h in self.hidden)

    def holds_hidden(self, path: Path) -> bool:
        """Whether a hidden path lies inside the directory ``path``."""
        real = _real(path)
        return any(real in h.parents for h in self.hidden)


def _real(path: Path) -> Path:
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return path


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _expand(raw: str, workspace: Path, home: Path) -> Path:
    if raw == "~" or raw.startswith("~/"):
        p = home / raw[2:] if raw != "~" else home
    else:
        p = Path(raw)
    return p if p.is_absolute() else workspace / p


def git_dirs(workspace: Path) -> tuple[Path, ...]:
    """The git directory the workspace commits to, and its common directory (a worktree's
    objects and refs live there): found by walking up to the nearest ``.git``, following
    a ``gitdir:`` file. Empty when the workspace is in no repository."""
    for folder in (workspace, *workspace.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return (_real(dot_git),)
        if dot_git.is_file():
            try:
                text = dot_git.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return ()
            line = next((x for x in text.splitlines() if x.startswith("gitdir:")), "")
            if not line:
                return ()
            gitdir = Path(line.split(":", 1)[1].strip())
            gitdir = _real(gitdir if gitdir.is_absolute() else folder / gitdir)
            found = [gitdir]
            try:
                common = (gitdir / "commondir").read_text(encoding="utf-8").strip()
            except OSError:
                common = ""
            if common:
                found.append(_real(gitdir / common))  # an absolute one replaces gitdir
            return tuple(dict.fromkeys(found))
    return ()


def _protected_in(git: Iterable[Path], workspace: Path) -> list[Path]:
    """Inside writable roots but kept read-only: what git would run later, outside the
    sandbox (hooks; config naming programs such as core.fsmonitor or core.hooksPath),
    and the workspace's own hermes settings."""
    out = []
    for gitdir in git:
        out += [gitdir / "hooks", gitdir / "config"]
    out.append(workspace / ".hermes")
    return out


def _existing(candidates: Iterable[Path]) -> tuple[Path, ...]:
    found: dict[Path, None] = {}
    for p in candidates:
        if os.path.lexists(p):
            found[_real(p)] = None
    return tuple(found)


def build_policy(
    config: SandboxConfig,
    workspace: Path,
    *,
    network: NetworkAccess | None = None,
    environ: Mapping[str, str] | None = None,
) -> SandboxPolicy:
    """The policy for commands run in ``workspace`` under ``config`` (``network``
    overrides ``config.network``, e.g. per MCP server). Only existing paths are listed:
    a missing one has nothing to hide, and cannot be created in a read-only parent."""
    env = os.environ if environ is None else environ
    workspace = _real(workspace)
    net = network or config.network
    if config.mode == "off":
        return SandboxPolicy("off", workspace, network="on")
    home = Path(env.get("HOME") or str(Path.home()))
    writable: list[Path] = []
    git: tuple[Path, ...] = ()
    if config.mode == "workspace-write":
        git = git_dirs(workspace)
        writable = [workspace, *git]
        writable += [_expand(r, workspace, home) for r in config.writable_roots]
    hidden = [paths.hermes_home(), *(home / h for h in HIDDEN_IN_HOME)]
    hidden += [Path(s) for s in HIDDEN_SYSTEM]
    hidden.append(Path(f"/run/user/{os.getuid()}"))  # agent sockets, the session bus
    agent = env.get("SSH_AUTH_SOCK")
    if agent:
        hidden.append(Path(agent))
    hidden += [_expand(h, workspace, home) for h in config.hide]
    return SandboxPolicy(
        mode=config.mode,
        workspace=workspace,
        writable_roots=_existing(writable),
        network=net,
        hidden=_existing(hidden),
        protected=_existing(_protected_in(git, workspace)) if writable else (),
    )
