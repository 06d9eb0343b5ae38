"""A batch task's private workspace, and the setup/check commands run in it.

A directory is copied (symlinks kept as symlinks); a bare repository or a ``.git``
directory is cloned with ``git clone --local``; a URL is cloned; no workspace gives an
empty directory. Commands run in their own process group, so a timeout or Ctrl+C kills
everything they started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermes.batch.tasks import Task

OUTPUT_LIMIT = 8_000


class WorkspaceError(Exception):
    """The task's workspace could not be made."""


@dataclass(frozen=True)
class CommandResult:
    """How a setup or check command ended. ``exit_code`` is None when it was killed."""

    exit_code: int | None
    output: str
    timed_out: bool = False
    stopped: bool = False


def _is_git_dir(path: Path) -> bool:
    """A bare repository or a ``.git`` directory (cloned rather than copied)."""
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def prepare_workspace(task: Task, dest: Path, timeout: float) -> None:
    """Make ``dest`` the task's fresh copy of its workspace (replacing what was there)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = task.workspace
    if source is None:
        dest.mkdir()
        return
    if task.workspace_is_url:
        _clone(["git", "clone", "--quiet", source, str(dest)], timeout)
        return
    src = Path(source)
    if _is_git_dir(src):
        _clone(["git", "clone", "--quiet", "--local", str(src), str(dest)], timeout)
        return
    try:
        shutil.copytree(src, dest, symlinks=True)
    except (OSError, shutil.Error) as exc:
        raise WorkspaceError(f"cannot copy workspace {src}: {exc}") from exc


def _clone(argv: list[str], timeout: float) -> None:
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except FileNotFoundError as exc:
        raise WorkspaceError("git is not installed, so the repository cannot be cloned") from exc
    except subprocess.TimeoutExpired as exc:
        raise WorkspaceError(f"git clone timed out after {timeout:g} s") from exc
    if done.returncode != 0:
        raise WorkspaceError(f"git clone failed: {tail(done.stderr.strip(), 2_000)}")


def tail(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """The end of ``text``, at most ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"[... {len(text) - limit} characters cut ...]\n" + text[-limit:]


async def run_command(
    command: str,
    cwd: Path,
    *,
    limit: float,
    env: dict[str, str],
    stop: asyncio.Event | None = None,
) -> CommandResult:
    """Run ``command`` with the shell in ``cwd``; stdout and stderr together, capped."""
    proc = await asyncio.create_subprocess_shell(
        command,
        cwd=str(cwd),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **env},
    )
    reader = asyncio.create_task(proc.communicate())
    waiters: set[asyncio.Future[Any]] = {reader}
    stopper = asyncio.create_task(stop.wait()) if stop is not None else None
    if stopper is not None:
        waiters.add(stopper)
    killed = ""
    try:
        done, _ = await asyncio.wait(waiters, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        if reader not in done:
            killed = "stop" if stop is not None and stop.is_set() else "timeout"
    finally:
        if stopper is not None:
            stopper.cancel()
        if not reader.done():
            _kill_group(proc.pid)
    out, _ = await reader
    text = tail(out.decode("utf-8", errors="replace"))
    if killed:
        return CommandResult(None, text, timed_out=killed == "timeout", stopped=killed == "stop")
    return CommandResult(proc.returncode, text)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
