"""What the sandbox tests share: real backends, decoys outside the workspace, digests.

Decoys live under /var/tmp, not /tmp: bubblewrap gives every command a fresh /tmp, so a
decoy under the host's /tmp would be out of sight anyway and prove nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hermes.config import SandboxConfig
from hermes.execution.spec import ToolContext, ToolResult
from hermes.sandbox.bubblewrap import probe
from hermes.sandbox.landlock import abi
from hermes.tools.terminal import terminal

GUARD = 120.0
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ndecoy, not a key\n-----END OPENSSH PRIVATE KEY-----\n"
BASHRC = "# the decoy's own .bashrc\nexport PS1='$ '\n"

requires_bwrap = pytest.mark.skipif(
    probe().features is None, reason=f"bubblewrap cannot run here: {probe().reason}"
)
requires_landlock = pytest.mark.skipif(abi() < 1, reason="this kernel has no Landlock")
BACKENDS = [
    pytest.param("bubblewrap", marks=requires_bwrap),
    pytest.param("landlock", marks=requires_landlock),
]


@contextmanager
def outside_dir() -> Iterator[Path]:
    """A real folder outside the workspace and outside /tmp, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="hermes-sandbox-test-", dir="/var/tmp")).resolve()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_decoy_home(home: Path) -> Path:
    """A home with an SSH key, a .bashrc and AWS credentials that must stay untouched."""
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(KEY)
    (home / ".ssh" / "id_rsa").chmod(0o600)
    (home / ".bashrc").write_text(BASHRC)
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text("[default]\naws_secret_access_key = decoy\n")
    (home / "notes.txt").write_text("plain notes\n")
    return home


def tree_digest(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every path under ``root`` (symlinks not followed) -> its type, mode and sha256."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath) / name
            info = path.lstat()
            rel = str(rel_dir / name)
            if stat.S_ISLNK(info.st_mode):
                out[rel] = f"link {os.readlink(path)}"
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = f"dir {stat.S_IMODE(info.st_mode):o}"
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out[rel] = f"file {stat.S_IMODE(info.st_mode):o} {digest}"
    return out


def run_sandboxed(
    workspace: Path,
    command: str,
    *,
    backend: str = "bubblewrap",
    **settings: Any,
) -> ToolResult:
    """Run ``command`` with the real terminal tool in the sandbox ``settings`` describe,
    in a worker thread as the engine does (with a hang guard)."""
    sandbox = SandboxConfig(backend=backend, **settings)  # type: ignore[arg-type]
    ctx = ToolContext(workspace=workspace, output_dir=workspace.parent / "outputs", sandbox=sandbox)
    args: dict[str, Any] = {"command": command}
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(terminal, ctx, args).result(timeout=GUARD)


def processes_named(text: str) -> list[int]:
    """Live processes whose command line contains ``text``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(entry))
    return found
