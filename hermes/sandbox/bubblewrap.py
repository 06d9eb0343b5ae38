"""The bubblewrap backend: each command in fresh namespaces, built as a ``bwrap`` argv.

The whole filesystem is mounted read-only (``--ro-bind / /``); a fresh ``/proc``,
``/dev`` and private ``/tmp`` and ``/dev/shm`` go on top; then, shallowest first, the
writable roots are bound writable, the protected paths inside them read-only again, and
each hidden path is covered (an empty read-only tmpfs over a directory, ``/dev/null``
over a file). The command gets its own PID namespace (when it exits, every process it
started dies with it, ``setsid`` daemons included), its own session (no TIOCSTI into
the terminal), no capabilities, no new privileges, and no user namespaces of its own.

Network ``off`` is a new network namespace holding only a loopback interface: the kernel
enforces it for every protocol, a connect to any outside address fails at once with
ENETUNREACH (nothing is sent), and a server the command starts on 127.0.0.1 answers the
command itself. The host's own loopback services (a database, a local model server) are
out of reach too: a namespace is all or nothing. Filtering by address would need
seccomp, which cannot read a ``connect`` address (it is a pointer), or a proxy;
``sandbox.network: on`` shares the host's network instead.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hermes.sandbox.policy import SandboxPolicy

PROBE_TIMEOUT = 10.0
_FRESH_TMP = Path("/tmp")


@dataclass(frozen=True)
class BwrapFeatures:
    """How this machine's ``bwrap`` runs (found by :func:`probe`)."""

    path: str
    user_namespace: bool = True  # --unshare-user (off: a setuid bwrap without userns)
    disable_userns: bool = True  # --disable-userns (bubblewrap >= 0.8)
    fresh_proc: bool = True  # --proc /proc (off: some containers refuse it)


@dataclass(frozen=True)
class BwrapProbe:
    """The outcome of trying bubblewrap once: features when it works, else why not."""

    features: BwrapFeatures | None
    reason: str = ""


def _base_flags(f: BwrapFeatures, network: bool) -> list[str]:
    flags = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc"]
    flags += ["--unshare-uts", "--unshare-cgroup-try"]
    if f.user_namespace:
        flags.append("--unshare-user")
        if f.disable_userns:
            flags.append("--disable-userns")
    flags += ["--cap-drop", "ALL"]
    if not network:
        flags.append("--unshare-net")
    flags += ["--ro-bind", "/", "/"]
    flags += ["--proc", "/proc"] if f.fresh_proc else ["--ro-bind", "/proc", "/proc"]
    flags += ["--dev", "/dev", "--tmpfs", "/dev/shm", "--tmpfs", str(_FRESH_TMP)]
    return flags


def _try(features: BwrapFeatures) -> str:
    """'' when bwrap runs ``true`` with these features, else what it said."""
    argv = [features.path, *_base_flags(features, network=False), "--", "true"]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return ""
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit code {done.returncode}"


@functools.cache
def probe() -> BwrapProbe:
    """Find ``bwrap`` and try it once per process: the strongest flag set that works."""
    path = shutil.which("bwrap")
    if path is None:
        return BwrapProbe(None, "bubblewrap is not installed (no bwrap on PATH)")
    first = ""
    for features in (
        BwrapFeatures(path),
        BwrapFeatures(path, disable_userns=False),
        BwrapFeatures(path, user_namespace=False),
        BwrapFeatures(path, disable_userns=False, fresh_proc=False),
        BwrapFeatures(path, user_namespace=False, fresh_proc=False),
    ):
        error = _try(features)
        if not error:
            return BwrapProbe(features)
        first = first or error
    return BwrapProbe(None, f"bwrap does not run here: {first}")


def _depth(path: Path) -> int:
    return len(path.parts)


def _under_tmp(path: Path) -> bool:
    return path == _FRESH_TMP or _FRESH_TMP in path.parents


def _visible(path: Path, policy: SandboxPolicy) -> bool:
    """Whether a host path is still there inside the sandbox (the fresh /tmp hides
    what was under it, unless a writable root or the workspace brings it back)."""
    if _under_tmp(path):
        brought = (*policy.writable_roots, policy.workspace)
        return any(root == path or root in path.parents for root in brought)
    return True


class BubblewrapBackend:
    """Builds the ``bwrap`` command line for a policy."""

    name = "bubblewrap"

    def __init__(self, features: BwrapFeatures) -> None:
        self.features = features

    def limits(self, policy: SandboxPolicy) -> tuple[str, ...]:
        """What this backend cannot enforce of ``policy`` (nothing)."""
        del policy
        return ()

    def command(self, policy: SandboxPolicy, argv: Sequence[str], cwd: Path) -> list[str]:
        """``argv`` wrapped in ``bwrap`` for ``policy``, starting in ``cwd``."""
        out = [self.features.path, *_base_flags(self.features, network=policy.network == "on")]
        # (depth, order, flags): shallow mounts first, so a deeper one lands on top; at
        # the same path, hiding comes last (deny beats allow).
        mounts: list[tuple[int, int, list[str]]] = []
        for root in policy.writable_roots:
            mounts.append((_depth(root), 0, ["--bind", str(root), str(root)]))
        ws = policy.workspace
        if _under_tmp(ws) and not any(r == ws or r in ws.parents for r in policy.writable_roots):
            mounts.append((_depth(ws), 0, ["--ro-bind", str(ws), str(ws)]))  # read-only mode
        for path in policy.protected:
            if _visible(path, policy):
                mounts.append((_depth(path), 1, ["--ro-bind", str(path), str(path)]))
        for path in policy.hidden:
            if not _visible(path, policy):
                continue
            if path.is_dir() and not path.is_symlink():
                cover = ["--tmpfs", str(path)]
                beneath = (*policy.writable_roots, *policy.protected)
                if not any(path in p.parents for p in beneath):
                    cover += ["--remount-ro", str(path)]  # writes fail instead of vanishing
            else:
                cover = ["--ro-bind", "/dev/null", str(path)]
            mounts.append((_depth(path), 2, cover))
        for _, _, flags in sorted(mounts, key=lambda m: (m[0], m[1])):
            out += flags
        out += ["--chdir", str(cwd), "--", *argv]
        return out
