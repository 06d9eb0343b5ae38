"""The Landlock backend, for where bubblewrap cannot run: a helper process applies
Landlock to the command (see :mod:`hermes.sandbox.landlock_exec`).

Landlock only ever grants, beneath a directory, so a hidden path is carved out by
granting read on everything around it: each directory on the way down from ``/`` to a
hidden path is replaced by its entries, less the hidden one (symlinks are left out:
what they point to is granted in its own place). The writable roots get every right;
``/tmp`` is writable unless something hidden lies in it, and each command gets its own
``TMPDIR``. What Landlock cannot do, :meth:`LandlockBackend.limits` says: no private
``/tmp``, no PID namespace (the helper kills what the command leaves behind instead),
nothing hidden or read-only inside a writable root (git hooks stay writable), a listing
of a directory holding a hidden path is refused, and network ``off`` refuses every TCP
connect and bind (loopback included; Landlock rules name ports, not addresses) but not
UDP, and needs ABI 4 (Linux 6.7).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from hermes.sandbox import landlock_exec
from hermes.sandbox.policy import SandboxPolicy

HELPER = Path(landlock_exec.__file__)
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")
DEVICE_DIRS = ("/dev/pts", "/dev/ptmx", "/dev/shm")
TMP = Path("/tmp")
_MAX_ENTRIES = 5000  # a directory this big on the way to a hidden path: grant it whole


@functools.cache
def abi() -> int:
    """The kernel's Landlock ABI version (0: none), asked once per process."""
    return landlock_exec.abi_version()


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def carve(roots: Iterable[Path], hidden: Sequence[Path]) -> list[Path]:
    """Paths whose subtrees together cover ``roots`` except the ``hidden`` paths."""
    out: list[Path] = []
    for root in roots:
        inner = [h for h in hidden if _within(h, root)]
        if not inner:
            out.append(root)
            continue
        if root in inner or not root.is_dir() or root.is_symlink():
            continue  # hidden itself (or not a directory to look into)
        try:
            names = os.listdir(root)
        except OSError:
            continue
        if len(names) > _MAX_ENTRIES:
            out.append(root)
            continue
        out += carve((root / n for n in sorted(names) if not (root / n).is_symlink()), inner)
    return out


class LandlockBackend:
    """Builds the helper's command line for a policy."""

    name = "landlock"

    def __init__(self, abi_version: int) -> None:
        self.abi = abi_version

    def limits(self, policy: SandboxPolicy) -> tuple[str, ...]:
        """What this backend cannot enforce of ``policy``, said plainly."""
        out = ["no private /tmp (a TMPDIR of its own instead)", "no PID namespace"]
        if policy.protected:
            out.append("git hooks and config stay writable")
        if policy.network == "off":
            if self.abi < 4:
                out.append(f"network NOT restricted (Landlock ABI {self.abi} < 4)")
            else:
                out.append("TCP blocked, loopback too; UDP not restricted")
        return tuple(out)

    def command(self, policy: SandboxPolicy, argv: Sequence[str], cwd: Path) -> list[str]:
        """``argv`` wrapped in the Landlock helper for ``policy`` (``cwd``: inherited)."""
        del cwd  # the helper and the command start where the caller starts them
        hidden = list(policy.hidden)
        writable = list(policy.writable_roots)
        if not any(_within(h, TMP) for h in hidden):
            writable.append(TMP)
        out = [sys.executable, "-I", "-S", str(HELPER), "--network", policy.network]
        for path in carve([Path("/")], hidden):
            out += ["--read", str(path)]
        for path in writable:
            out += ["--write", str(path)]
        for dev in (*DEVICES, *DEVICE_DIRS):
            out += ["--device", dev]
        out += ["--private-tmp", "--", *argv]
        return out
