"""Running one hook: a real process with the event's JSON on stdin, in a process group of
its own that is killed when its timeout passes or the turn is interrupted.

stdin, stdout and stderr are unlinked temporary files, not pipes, so the run ends when
the hook's process exits, even if something it started in the background still holds
them, and a hook that never reads its input cannot stall on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from hermes.hooks.table import HookSpec

OUTPUT_MAX_BYTES = 1 << 20
"""What of a hook's stdout and of its stderr is read; the rest is ignored."""
KILL_GRACE_S = 1.0
"""After SIGTERM, how long the group gets before SIGKILL."""


@dataclass(frozen=True)
class HookResult:
    """How one hook run ended. ``exit_code`` None: it was killed or never started."""

    spec: HookSpec
    exit_code: int | None
    stdout: str
    stderr: str
    duration_ms: float
    started_at: float
    timed_out: bool = False
    error: str = ""  # why it could not start


def shell_argv(command: str) -> list[str]:
    """``bash -c command`` (Claude Code's hooks are bash commands), or ``/bin/sh -c``."""
    return [shutil.which("bash") or "/bin/sh", "-c", command]


def _read(f: IO[bytes]) -> str:
    f.seek(0)
    return f.read(OUTPUT_MAX_BYTES).decode("utf-8", errors="replace")


def _signal_group(pgid: int, sig: int) -> bool:
    """Signal the group; False when nothing of it is left."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM to the hook's group, SIGKILL to whatever is left after the grace."""
    pgid = proc.pid  # start_new_session: the hook leads its own group
    if not _signal_group(pgid, signal.SIGTERM):
        return
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), KILL_GRACE_S)
    except (TimeoutError, asyncio.CancelledError):
        pass
    finally:
        _signal_group(pgid, signal.SIGKILL)  # children that ignored SIGTERM, the hook too


async def run_hook(
    spec: HookSpec, payload: bytes, *, cwd: Path, env: Mapping[str, str]
) -> HookResult:
    """Run ``spec`` with ``payload`` on stdin; never raises for the hook's own failures
    (they are in the result). Cancelled (interrupt), it kills the group, then re-raises."""
    started_at = time.time()
    t0 = time.monotonic()

    def elapsed() -> float:
        return (time.monotonic() - t0) * 1000

    with contextlib.ExitStack() as files:
        stdin, stdout, stderr = (files.enter_context(tempfile.TemporaryFile()) for _ in range(3))
        stdin.write(payload)
        stdin.flush()
        stdin.seek(0)
        try:
            proc = await asyncio.create_subprocess_exec(
                *shell_argv(spec.command),
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                cwd=cwd,
                env=dict(env),
                start_new_session=True,
            )
        except OSError as exc:
            return HookResult(spec, None, "", "", elapsed(), started_at, error=str(exc))
        timed_out = False
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), spec.timeout)
        except TimeoutError:
            timed_out = True
            await _kill_group(proc)
        except asyncio.CancelledError:
            await asyncio.shield(_kill_group(proc))
            raise
        code = None if timed_out else proc.returncode
        return HookResult(
            spec, code, _read(stdout), _read(stderr), elapsed(), started_at, timed_out
        )
